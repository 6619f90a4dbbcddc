import { compileGrammars, parseCommand, selectPrograms } from "./satellite/worker/commands/index.ts";
const progs = selectPrograms(undefined, compileGrammars());
const cases: string[][] = [
  ["date","-u"],["date","--u"],["date","--ut"],["date","+%F"],["date","-d","yesterday","+%F"],["date","--fil=/x"],["date","-sFOO"],["date","-us","x"],["date","--r"],["date","--rfc-e"],["date","-Iseconds"],["date","--iso=ns"],["date","-d","TZ=\"/etc/x\" now"],["date","010100002001"],["date","--","-s"],
  ["kubectl","get","pods","-n","kube-system","-o","wide"],["kubectl","-n=x","get","po"],["kubectl","get","-As","http://127.0.0.1:1","pods"],["kubectl","--insecure_skip_tls_verify","get","pods"],["kubectl","top","pods","-A"],["kubectl","get","pods","-o","jsonpath-file=/x"],["kubectl","delete","pods"],["kubectl"],["kubectl","top"],["kubectl","get","pods","--all_namespaces"],
  ["ps","aux"],["ps","e"],["ps","eww"],["ps","-ef"],["ps","-ex"],["ps","-eo","pid,environ"],["ps","-eo","pid,user,%cpu,args","--sort=-%cpu"],["ps","--sort","-%cpu"],["ps","1"],
  ["df","-h"],["df","--output=/tmp/x"],["df","--output=source,size"],["df","--sy"],["df","-h","/"],
  ["hostname"],["hostname","evil"],["hostname","-F","/x"],["hostname","--fi","/x"],["ls","-la","/etc"],["ls","--h"],["free","-h"],["free","-s","1"],["uptime","-p"],["id","-un"],["whoami","root"],
];
for (const [p, ...a] of cases) {
  try { console.log("OK  ", [p, ...a].join(" "), "=>", parseCommand(progs.get(p!)!, a).join(" ")); }
  catch (e) { console.log("NO  ", [p, ...a].join(" "), "=>", (e as Error).message); }
}
