// RFC 4180 CSV parsing: quoted fields may hold commas, doubled quotes and line breaks.

/** Parses CSV text into an array of records (arrays of strings). */
export function parseCsv(text) {
  const records = [];
  let record = [];
  let field = "";
  let quoted = false;
  let i = 0;
  if (text.charCodeAt(0) === 0xfeff) i = 1; // BOM
  for (; i < text.length; i++) {
    const c = text[i];
    if (quoted) {
      if (c === '"') {
        if (text[i + 1] === '"') {
          field += '"';
          i++;
        } else {
          quoted = false;
        }
      } else {
        field += c;
      }
    } else if (c === '"') {
      if (field !== "") throw new Error(`CSV: quote inside an unquoted field at offset ${i}`);
      quoted = true;
    } else if (c === ",") {
      record.push(field);
      field = "";
    } else if (c === "\n" || c === "\r") {
      if (c === "\r" && text[i + 1] === "\n") i++;
      record.push(field);
      records.push(record);
      record = [];
      field = "";
    } else {
      field += c;
    }
  }
  if (quoted) throw new Error("CSV: unterminated quoted field");
  if (field !== "" || record.length > 0) {
    record.push(field);
    records.push(record);
  }
  return records;
}

/** Parses CSV with a header row into objects keyed by the header names. */
export function parseCsvObjects(text) {
  const [header, ...rows] = parseCsv(text);
  if (!header) return { header: [], rows: [] };
  return {
    header,
    rows: rows.map((r, n) => {
      if (r.length !== header.length) {
        throw new Error(`CSV: record ${n + 2} has ${r.length} fields, the header has ${header.length}`);
      }
      return Object.fromEntries(header.map((h, j) => [h, r[j]]));
    }),
  };
}
