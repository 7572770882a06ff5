/**
 * Which columns of an input hold the user, item, rating and timestamp: the names the readers
 * recognise without being told (case-insensitive), and the resolution of a named table's columns
 * (Parquet, Arrow) from the options — by name, by position, or by these aliases.
 */
export type Column = string | number;

export const ALIASES = {
  user: ['user', 'userid', 'user_id', 'uid'],
  item: ['item', 'itemid', 'item_id', 'movieid', 'movie_id', 'iid'],
  rating: ['rating', 'weight', 'score', 'count'],
  timestamp: ['timestamp', 'time', 'ts'],
} as const;

export type Field = keyof typeof ALIASES;

export interface ColumnOptions {
  user?: Column;
  item?: Column;
  rating?: Column;
  timestamp?: Column | false;
  implicit?: boolean;
}

/**
 * Positions of the fields in a table with these column names (−1: absent: no timestamp, or no
 * rating when implicit). A name is matched exactly, then case-insensitively; a position must be
 * a column's. Throws an Error naming the table, the field and the columns it has.
 */
export function resolveNamedColumns(names: readonly string[], o: ColumnOptions, table: string): Record<Field, number> {
  const pos: Record<Field, number> = { user: -1, item: -1, rating: -1, timestamp: -1 };
  const fields: Field[] = o.implicit ? ['user', 'item', 'timestamp'] : ['user', 'item', 'rating', 'timestamp'];
  const list = names.map((n) => `'${n}'`).join(', ');
  for (const f of fields) {
    const opt = o[f];
    if (opt === false) continue;
    if (typeof opt === 'number') {
      if (!Number.isInteger(opt) || opt < 0 || opt >= names.length) throw new RangeError(`${table}: ${f} column position ${opt} is not one of its ${names.length} columns (${list})`);
      pos[f] = opt;
    } else if (typeof opt === 'string') {
      let k = names.indexOf(opt);
      if (k < 0) k = names.findIndex((n) => n.toLowerCase() === opt.toLowerCase());
      if (k < 0) throw new Error(`${table}: ${f} column '${opt}' not found (columns: ${list})`);
      pos[f] = k;
    } else {
      const k = names.findIndex((n) => (ALIASES[f] as readonly string[]).includes(n.toLowerCase()));
      if (k >= 0) pos[f] = k;
      else if (f !== 'timestamp') {
        const hint = f === 'rating' ? `; pass rating: '<column>' or implicit: true` : `; pass ${f}: '<column>'`;
        throw new Error(`${table}: no ${f} column (looked for ${ALIASES[f].join(', ')} among ${list})${hint}`);
      }
    }
  }
  return pos;
}
