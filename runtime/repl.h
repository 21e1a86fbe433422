/* The `moonlab` command's own interface between main.c (arguments, scripts,
 * subcommands) and repl.c (the interactive loop, completion, printing). */
#ifndef ML_REPL_H
#define ML_REPL_H

#include <lua.h>

/* lua_pcall with a traceback handler; Ctrl-C while it runs raises
 * "interrupted!" in the Lua code. Returns the pcall status. */
int ml_docall(lua_State *L, int narg, int nres);

/* Runs the REPL on stdin until exit/EOF. Returns the process exit status:
 * 0, or 1 when input was not a terminal and some command failed. */
int ml_repl(lua_State *L);

/* Registers ml._complete(text) into the table at idx (the `ml` table). */
void ml_register_complete(lua_State *L, int idx);

/* Makes the names and values of the table at idx (a script's top-level
 * locals, for -i) locals of the REPL session. */
void ml_repl_add_locals(lua_State *L, int idx);

#endif
