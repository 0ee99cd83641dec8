/**
 * How `plan` prints statements (of a run or of an add-view): grouped by phase, each with its title as a comment,
 * the SQL exactly as the run sends it, and its bound parameters (`-- params: name = value`). A step without a
 * statement of its own (an explanation) is its title alone.
 */
interface Printable {
  readonly phase: string;
  readonly title: string;
  readonly sql: string;
  readonly params?: Readonly<Record<string, string>>;
}

export function formatStatements(statements: readonly Printable[]): string[] {
  const out: string[] = [];
  let phase = '';
  for (const s of statements) {
    if (s.phase !== phase) {
      phase = s.phase;
      out.push('', `-- ${phase}`);
    }
    out.push(`-- ${s.title}`);
    const params = Object.entries(s.params ?? {});
    if (params.length > 0) out.push(`-- params: ${params.map(([k, v]) => `${k} = ${v}`).join('; ')}`);
    const text = s.sql.trim();
    if (text) out.push(text.startsWith('--') ? text : `${text};`);
  }
  return out;
}
