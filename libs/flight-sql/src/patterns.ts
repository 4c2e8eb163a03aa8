/**
 * The filter patterns of GetDbSchemas/GetTables: `%` matches any run of characters, `_` any one
 * character, and a backslash makes the next character literal (the escape SqlInfo
 * SQL_SEARCH_STRING_ESCAPE announces). An absent pattern matches everything.
 */
export function matchesPattern(pattern: string | undefined): (value: string) => boolean {
  if (pattern === undefined) return () => true;
  let source = '';
  for (let i = 0; i < pattern.length; i++) {
    const char = pattern[i];
    if (char === '\\' && i + 1 < pattern.length) source += escapeRegExp(pattern[++i]);
    else if (char === '%') source += '.*';
    else if (char === '_') source += '.';
    else source += escapeRegExp(char);
  }
  const regex = new RegExp(`^${source}$`, 's');
  return (value) => regex.test(value);
}

function escapeRegExp(char: string): string {
  return char.replace(/[.*+?^${}()|[\]\\/-]/g, '\\$&');
}
