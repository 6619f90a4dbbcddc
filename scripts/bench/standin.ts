/** A model stand-in in its own process for benchmarks: answers every call after `--delay` ms. */
import { startAnthropicStandIn } from "../../test/standins/anthropic.ts";
import { anyRequest, reply } from "../../test/standins/script.ts";

const delay = Number(process.argv[process.argv.indexOf("--delay") + 1] ?? 2) || 2;
const s = startAnthropicStandIn();
const answer = reply().text("Elementary, ", "my dear ", "Watson.").delay(delay).usage({ input: 50, output: 10 });
s.always(anyRequest, () => answer);
// Nothing is recorded: a long benchmark must not grow the stand-in's memory.
s.requests.push = () => 0;
console.log(s.url);
