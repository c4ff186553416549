/**
 * Plain-text output of the CLI: aligned tables and one-line error messages.
 */

/**
 * Formats rows under a header as left-aligned columns separated by at least two spaces (the last column is not
 * padded). Every line ends with "\n".
 */
export function formatTable(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = header.map((title, column) =>
    Math.max(title.length, ...rows.map((row) => (row[column] ?? "").length)),
  );
  const line = (cells: readonly string[]): string =>
    header
      .map((_, column) => {
        const cell = cells[column] ?? "";
        return column === header.length - 1 ? cell : cell.padEnd(widths[column] ?? 0);
      })
      .join("  ")
      .trimEnd();
  return [header, ...rows].map((cells) => `${line(cells)}\n`).join("");
}

/** A message on one line: line breaks and the indentation around them become "; ", and trailing space goes. */
export function oneLine(message: string): string {
  return message
    .split(/\s*[\r\n]+\s*/)
    .filter((part) => part !== "")
    .join("; ")
    .trim();
}

/** JSON as the CLI prints it: two-space indentation and a final newline. */
export function formatJson(value: unknown): string {
  return `${JSON.stringify(value, null, 2)}\n`;
}
