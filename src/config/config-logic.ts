/** uWSGI option names that are not settings but configuration logic (refused by the loader). */

/**
 * uWSGI's configuration logic and template options (uwsgi 2.0 core/uwsgi.c): uwrouter does
 * not evaluate them, and skipping them would apply options they guard or omit.
 */
export const CONFIG_LOGIC: ReadonlySet<string> = new Set([
  'for',
  'for-glob',
  'for-times',
  'for-readline',
  'endfor',
  'end-for',
  'end',
  'if-opt',
  'if-not-opt',
  'if-env',
  'if-not-env',
  'ifenv',
  'if-reload',
  'if-not-reload',
  'if-hostname',
  'if-not-hostname',
  'if-hostname-match',
  'if-not-hostname-match',
  'if-exists',
  'if-not-exists',
  'ifexists',
  'if-plugin',
  'if-not-plugin',
  'ifplugin',
  'if-file',
  'if-not-file',
  'if-dir',
  'if-not-dir',
  'ifdir',
  'if-directory',
  'if-not-directory',
  'endif',
  'end-if',
  'declare-option',
  'declare-option2',
  'resolve',
  'get',
  'blacklist',
  'end-blacklist',
  'whitelist',
  'end-whitelist',
  'inject-before',
  'inject-after',
  'config',
  'fallback-config',
  'include',
  'inherit',
]);

export function configLogicMessage(name: string): string {
  if (name === 'include' || name === 'inherit') {
    return `"${name}" is not supported by uwrouter; load another ini file with "ini = FILE[:SECTION]"`;
  }
  return `"${name}" is uWSGI configuration logic, which uwrouter does not evaluate; write the options it would produce plainly`;
}
