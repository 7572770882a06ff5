// Rewrites a Parquet file's data pages v2 (all hyparquet-writer writes) as data pages v1 (what
// pyarrow and parquet-mr write by default), so that tests read both page versions. A v1 page
// compresses its levels with its values, and an OPTIONAL column's definition levels carry a 4-byte
// length prefix (parquet-format, DataPage); the rest of the file (dictionaries, values, row groups)
// is kept byte for byte, with the offsets in the footer moved. Page indexes are dropped.
import { readFileSync, writeFileSync } from 'node:fs';
import { parquetMetadata, snappyUncompress } from 'hyparquet';
import { parquetHeader } from 'hyparquet/src/column.js';
import { ByteWriter } from 'hyparquet-writer/src/bytewriter.js';
import { writeMetadata } from 'hyparquet-writer/src/metadata.js';
import { writePageHeader } from 'hyparquet-writer/src/datapage.js';
import { snappyCompress } from 'hyparquet-writer/src/snappy.js';

export function rewriteAsDataPageV1(from: string, to: string): void {
  const file = new Uint8Array(readFileSync(from));
  const meta = parquetMetadata(file.buffer.slice(file.byteOffset, file.byteOffset + file.byteLength));
  const w = new ByteWriter();
  w.appendBytes(new TextEncoder().encode('PAR1'));
  for (const rg of meta.row_groups) {
    for (const c of rg.columns) {
      const m = c.meta_data!;
      const start = Number(m.dictionary_page_offset ?? m.data_page_offset);
      const end = start + Number(m.total_compressed_size);
      const reader = { view: new DataView(file.buffer, file.byteOffset + start, end - start), offset: 0 };
      const chunkStart = w.offset;
      let dataStart = -1;
      while (reader.offset < end - start) {
        const h = parquetHeader(reader);
        const body = file.subarray(start + reader.offset, start + reader.offset + h.compressed_page_size);
        reader.offset += h.compressed_page_size;
        if (h.type !== 'DATA_PAGE_V2') {
          w.appendBytes(headerBytes(h));
          w.appendBytes(body);
          continue;
        }
        if (dataStart < 0) dataStart = w.offset;
        const d = h.data_page_header_v2!;
        if (d.repetition_levels_byte_length !== 0) throw new Error('flat columns only');
        const levels = body.subarray(0, d.definition_levels_byte_length);
        let values = body.subarray(d.definition_levels_byte_length);
        if (d.is_compressed !== false && m.codec === 'SNAPPY') {
          const out = new Uint8Array(h.uncompressed_page_size - d.definition_levels_byte_length);
          snappyUncompress(values, out);
          values = out;
        } else if (m.codec !== 'UNCOMPRESSED') throw new Error(`codec ${m.codec}`);
        const plain = new Uint8Array((levels.length ? 4 + levels.length : 0) + values.length);
        if (levels.length) { new DataView(plain.buffer).setUint32(0, levels.length, true); plain.set(levels, 4); }
        plain.set(values, levels.length ? 4 + levels.length : 0);
        const packed = m.codec === 'SNAPPY' ? snappyCompress(plain) : plain;
        w.appendBytes(headerBytes({
          type: 'DATA_PAGE', uncompressed_page_size: plain.length, compressed_page_size: packed.length,
          data_page_header: { num_values: d.num_values, encoding: d.encoding, definition_level_encoding: 'RLE', repetition_level_encoding: 'RLE' },
        }));
        w.appendBytes(packed);
      }
      if (m.dictionary_page_offset !== undefined) m.dictionary_page_offset = BigInt(chunkStart);
      m.data_page_offset = BigInt(dataStart < 0 ? chunkStart : dataStart);
      m.total_compressed_size = BigInt(w.offset - chunkStart);
      m.encoding_stats = undefined;
      c.file_offset = BigInt(chunkStart);
      c.offset_index_offset = undefined; c.offset_index_length = undefined; c.column_index_offset = undefined; c.column_index_length = undefined;
    }
    rg.file_offset = undefined;
    rg.total_compressed_size = undefined;
  }
  writeMetadata(w, meta);
  w.appendBytes(new TextEncoder().encode('PAR1'));
  writeFileSync(to, new Uint8Array(w.getBuffer()));
}

function headerBytes(h: Parameters<typeof writePageHeader>[1]): Uint8Array {
  const hw = new ByteWriter();
  writePageHeader(hw, h);
  return new Uint8Array(hw.getBuffer());
}
