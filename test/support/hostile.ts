// Generated hostile argument vectors: shell metacharacters, quotes, option
// lookalikes, non-ASCII. Seeded, so a failing case can be replayed.
const POOL = ["a", "Z", "0", " ", "\t", "\n", "'", '"', "\\", "$", "`", "*", "?", ";", "|", "&", "<", ">", "(", ")", "{", "}", "~", "#", "!", "-", "--help", "-rf", "%", "é", "字", "\u{1F600}", "="];

export function hostileArgv(seed: number): () => string[] {
  let s = seed >>> 0;
  const next = () => ((s = (s * 1664525 + 1013904223) >>> 0) / 2 ** 32);
  const word = () => Array.from({ length: Math.floor(next() * 8) }, () => POOL[Math.floor(next() * POOL.length)]).join("");
  return () => Array.from({ length: 1 + Math.floor(next() * 5) }, word);
}
