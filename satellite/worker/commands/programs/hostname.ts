import type { CommandGrammarSpec } from "../../../../core/protocol/index.ts";

/**
 * Debian's hostname: show the host's names and addresses. An operand, `-F`
 * and `-b` SET the name; NIS names are left out. In its own UTS namespace the
 * program still sees the host's name (the namespace starts as a copy).
 */
export const hostname: CommandGrammarSpec = {
  syntax: "gnu",
  description: "the host's name",
  options: [
    { short: ["a"], long: ["alias"], description: "alias names" },
    { short: ["A"], long: ["all-fqdns"], description: "every FQDN" },
    { short: ["d"], long: ["domain"], description: "DNS domain" },
    { short: ["f"], long: ["fqdn", "long"], description: "fully qualified name" },
    { short: ["i"], long: ["ip-address"], description: "addresses of the name" },
    { short: ["I"], long: ["all-ip-addresses"], description: "every address of the host" },
    { short: ["s"], long: ["short"], description: "short name" },
    { short: ["v"], long: ["verbose"] },
    { short: ["h"], long: ["help"] },
    { short: ["V"], long: ["version"] },
  ],
  refused: ["boot", "file", "nis", "yp"],
  // Names come from uname(2) and the resolver, addresses from netlink: no /proc.
  sandbox: { processes: "none" },
};
