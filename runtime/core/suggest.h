/* "Did you mean": the known name closest to a misspelt one. */
#ifndef ML_CORE_SUGGEST_H
#define ML_CORE_SUGGEST_H

/* The entry of known[] (NULL-terminated) closest to name by edit distance
 * (insertions, deletions, substitutions and swaps of neighbours, ignoring
 * case), or NULL when none is close enough to be a likely typo: at most
 * max(1, min(3, len/3)) edits, or a prefix either way. Same rule as the Lua
 * library's checks.suggest. */
const char *ml_suggest(const char *name, const char *const *known);

#endif
