import type { BuiltinFilter } from './builtin.js';

// Paths that scanners try on every host and that a site without them answers with 404: WordPress and
// its files, secrets left in the web root (.env, .git, .aws ...), database front ends, routers' and
// cameras' admin pages, CGI and PHP test scripts. Names that real clients ask for by themselves
// (autodiscover, .well-known, favicon.ico, robots.txt, webmail) are not here.
const PROBES = [
  String.raw`wp-login\.php`,
  String.raw`xmlrpc\.php`,
  'wp-admin',
  'wp-includes',
  'wp-content',
  String.raw`wp-config\.php[\w.~-]*`,
  'wordpress',
  String.raw`\.env[\w.-]*`,
  String.raw`\.git`,
  String.raw`\.svn`,
  String.raw`\.hg`,
  String.raw`\.aws`,
  String.raw`\.ssh`,
  String.raw`\.DS_Store`,
  String.raw`(?i:php-?my-?admin[\w.-]*|pma|myadmin|mysqladmin|sqladmin|dbadmin)`,
  String.raw`adminer[\w.-]*\.php`,
  'cgi-bin',
  'HNAP1',
  'boaform',
  'GponForm',
  String.raw`admin\.php`,
  'administrator',
  'vendor/phpunit',
  'phpunit',
  String.raw`(?:php)?info\.php`,
  String.raw`shell\.php`,
  'manager/html',
].join('|');

// The request as the access log writes it: the method, the path (at the root or below one directory:
// /wordpress/wp-admin/, /backend/.env), anything after a '/', '?', '#' or ';', and the version (none for
// HTTP/0.9). nginx writes '"' and control characters in a request as \x22 and \x0A, apache writes \" and
// \n, so the quotes around a field are the daemon's.
const REQUEST = String.raw`"[A-Z]+ /(?:[\w.~-]+/)?(?:${PROBES})(?:[/?#;][^"]*)?(?: HTTP/[0-9.]+)?"`;

// 404s (and 444s, nginx's "close without an answer" that administrators return to scanners) on
// well-known probe paths, in an access log in the combined or common format (nginx's default, apache's
// too): "ADDR - USER [TIME] "REQUEST" STATUS BYTES ...". The address is the line's first word, written by
// the daemon; everything a client chose (user, request, referer, user agent) comes after it.
// Not read: nginx's error.log "open() ... failed (2: No such file or directory)" lines, in which the
// file's path is the request's decoded path ('"', ':', spaces and all) before the address: no count of
// a character and no fixed words pin the address there.
export const nginxBotsearchFilter: BuiltinFilter = {
  name: 'nginx-botsearch',
  catches: 'requests for well-known probe paths (wp-login.php, xmlrpc.php, .env, .git, phpmyadmin, cgi-bin, ...) answered 404 or 444, in the access log',
  reads: { file: '/var/log/nginx/access.log' },
  programs: ['nginx'],
  clientText: 'after-address',
  rules: [{ pattern: String.raw`<ADDR> \S+ [^"]* \[[^"\]]*\] ${REQUEST} (?:404|444) .*` }],
};
