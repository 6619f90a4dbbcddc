/**
 * NATS subject matching for the in-process bus: `*` matches one token, `>`
 * the rest (one token at least), like the server does.
 */
export function subjectMatcher(pattern: string): (subject: string) => boolean {
  if (!pattern.includes("*") && !pattern.includes(">")) return (s) => s === pattern;
  const want = pattern.split(".");
  return (subject) => {
    const got = subject.split(".");
    for (let i = 0; i < want.length; i++) {
      const w = want[i]!;
      if (w === ">") return got.length > i;
      if (i >= got.length || (w !== "*" && w !== got[i])) return false;
    }
    return got.length === want.length;
  };
}
