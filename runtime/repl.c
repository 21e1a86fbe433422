/* The REPL: readline editing and history, completion that walks tables and
 * metatables, results printed automatically, multi-line input, per-command
 * timing, `?name` help. Without a terminal it reads plain lines and prints
 * no prompts, so pipes and tests can drive it. */
#define _GNU_SOURCE
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/select.h>
#include <time.h>
#include <unistd.h>

#include <readline/history.h>
#include <readline/readline.h>

#include <lauxlib.h>
#include <lua.h>

#include "repl.h"

#define PROMPT "ml> "
#define PROMPT_MORE ">> "
#define SLOW_SECONDS 0.5 /* commands slower than this print their time */
#define HISTORY_MAX 1000
#define SHOW_ITEMS 24    /* table entries printed before "... (N more)" */
#define SHOW_WIDTH 48    /* characters of one value shown inside a table */
#define LINE_WIDTH 78    /* a table longer than this prints one entry per line */

static const char help_text[] =
    "  ?name         help on a value or name (ml.help): ?ml.zeros, ?sum, ?x:sum, ?fit,\n"
    "                ?Linear, ?nn.Linear, ?model:fit; ?ml lists the modules\n"
    "  Tab           complete globals, fields (ml.ra<Tab>), methods (x:su<Tab>) and,\n"
    "                inside a string, file paths (\"data/tr<Tab>)\n"
    "  _             the last result\n"
    "  exit, quit    leave (also exit(), quit() and Ctrl-D); Ctrl-C cancels the line\n"
    "                or interrupts a running command\n"
    "Expressions are printed; input continues on \">> \" until the chunk is complete;\n"
    "top-level locals stay defined for the next input (and, after -i, the script's);\n"
    "commands slower than 0.5 s print their time.\n";

static double now_seconds(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* ---- completion --------------------------------------------------------- */

static const char *const keywords[] = {
    "and", "break", "do", "else", "elseif", "end", "false", "for", "function", "goto", "if",
    "in", "local", "nil", "not", "or", "repeat", "return", "then", "true", "until", "while", NULL,
};

static int is_keyword(const char *s, size_t n) {
    for (const char *const *k = keywords; *k; k++)
        if (strlen(*k) == n && memcmp(*k, s, n) == 0) return 1;
    return 0;
}

/* A name usable after `.` or `:` (so completing it gives valid code). */
static int is_name(const char *s, size_t n) {
    if (n == 0 || !(isalpha((unsigned char)s[0]) || s[0] == '_')) return 0;
    for (size_t i = 1; i < n; i++)
        if (!(isalnum((unsigned char)s[i]) || s[i] == '_')) return 0;
    return !is_keyword(s, n);
}

/* Adds head..key to the set for each name key of table t that starts with
 * partial. Names starting with "_" stay hidden unless partial does. */
static void add_keys(lua_State *L, int set, int t, int head, const char *partial, size_t plen, int methods_only) {
    lua_pushnil(L);
    while (lua_next(L, t)) {
        size_t klen;
        if (lua_type(L, -2) == LUA_TSTRING) {
            const char *k = lua_tolstring(L, -2, &klen);
            if (klen >= plen && memcmp(k, partial, plen) == 0 && is_name(k, klen) && (k[0] != '_' || partial[0] == '_') &&
                (!methods_only || lua_type(L, -1) == LUA_TFUNCTION)) {
                lua_pushvalue(L, head);
                lua_pushvalue(L, -3);
                lua_concat(L, 2);
                lua_pushboolean(L, 1);
                lua_rawset(L, set);
            }
        }
        lua_pop(L, 1);
    }
}

/* The members of value v: its keys when it is a table, then along its
 * metatables: getmetatable(v).methods for userdata and other non-tables
 * (tensors keep their methods there), else __index while it is a table
 * (the class chain of Lua objects). Metatables are read raw. */
static void add_members(lua_State *L, int set, int v, int head, const char *partial, size_t plen, int methods_only) {
    int top = lua_gettop(L);
    lua_pushvalue(L, v);
    for (int depth = 0; depth < 16; depth++) { /* bounded: a metatable may be its own __index */
        int cur = lua_gettop(L);
        if (lua_type(L, cur) == LUA_TTABLE) add_keys(L, set, cur, head, partial, plen, methods_only);
        if (!lua_getmetatable(L, cur)) break;
        int found = 0;
        if (lua_type(L, cur) != LUA_TTABLE) {
            lua_pushliteral(L, "methods");
            found = lua_rawget(L, -2) == LUA_TTABLE;
            if (!found) lua_pop(L, 1);
        }
        if (!found) {
            lua_pushliteral(L, "__index");
            if (lua_rawget(L, -2) != LUA_TTABLE) break;
        }
        lua_remove(L, -2); /* the metatable; the next table is on top */
    }
    lua_settop(L, top);
}

/* Modules not loaded yet: ml.nn is a file lualib/moonlab/nn.lua that ml's
 * lazy __index loads on first use, so no table lists it. For v that is
 * package.loaded[M], this offers the files M/NAME.lua on package.path. */
static void add_submodules(lua_State *L, int set, int v, int head, const char *partial, size_t plen) {
    int top = lua_gettop(L);
    const char *mod = NULL, *path;
    if (lua_type(L, v) != LUA_TTABLE || lua_getglobal(L, "package") != LUA_TTABLE) goto done;
    lua_getfield(L, top + 1, "path");
    if (lua_getfield(L, top + 1, "loaded") != LUA_TTABLE || !(path = lua_tostring(L, top + 2))) goto done;
    lua_pushnil(L);
    while (lua_next(L, top + 3)) {
        int hit = lua_type(L, -2) == LUA_TSTRING && lua_rawequal(L, -1, v);
        lua_pop(L, 1);
        if (hit) { mod = lua_tostring(L, -1); break; } /* the key stays on the stack */
    }
    if (!mod || strlen(mod) > 200) goto done;
    while (*path) {
        size_t n = strcspn(path, ";");
        const char *q = memchr(path, '?', n);
        const char *suffix = q ? q + 1 : NULL;
        size_t slen = q ? (size_t)(path + n - suffix) : 0;
        char dir[PATH_MAX];
        if (q && !memchr(suffix, '/', slen) && (size_t)(q - path) + strlen(mod) + 2 < sizeof dir) {
            snprintf(dir, sizeof dir, "%.*s%s", (int)(q - path), path, mod);
            for (char *c = dir + (q - path); *c; c++)
                if (*c == '.') *c = '/';
            DIR *d = opendir(dir);
            struct dirent *e;
            while (d && (e = readdir(d))) {
                size_t elen = strlen(e->d_name), blen = elen - slen;
                if (elen <= slen || memcmp(e->d_name + blen, suffix, slen) != 0) continue;
                if (blen < plen || memcmp(e->d_name, partial, plen) != 0 || !is_name(e->d_name, blen)) continue;
                if (e->d_name[0] == '_' && partial[0] != '_') continue;
                lua_pushvalue(L, head);
                lua_pushlstring(L, e->d_name, blen);
                lua_concat(L, 2);
                lua_pushboolean(L, 1);
                lua_rawset(L, set);
            }
            if (d) closedir(d);
        }
        path += n + (path[n] == ';');
    }
done:
    lua_settop(L, top);
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(const char *const *)a, *(const char *const *)b); }

/* Replaces the set at the top by a sorted array of its keys. */
static void set_to_sorted(lua_State *L) {
    int set = lua_gettop(L);
    size_t n = 0, i = 0;
    lua_pushnil(L);
    while (lua_next(L, set)) { n++; lua_pop(L, 1); }
    /* in a userdata, so an error (out of memory) cannot leak it */
    const char **v = lua_newuserdatauv(L, (n ? n : 1) * sizeof *v, 0);
    lua_pushnil(L);
    while (lua_next(L, set)) { v[i++] = lua_tostring(L, -2); lua_pop(L, 1); }
    qsort(v, n, sizeof *v, cmp_str);
    lua_createtable(L, (int)n, 0);
    for (i = 0; i < n; i++) {
        lua_pushstring(L, v[i]);
        lua_rawseti(L, -2, (lua_Integer)i + 1);
    }
    lua_replace(L, set);
    lua_settop(L, set);
}

/* ml._complete(text): the sorted completions of an expression path such as
 * "pri", "ml.ra", "x:su" or "a.b.c". The path is walked with ordinary
 * indexing (so ml's lazy modules load, as typing them would); after ":"
 * only functions are offered. Used by the REPL's Tab; kept callable for tests. */
static const char env_key;
/* Pushes the REPL's environment (its locals, then the globals) once the
 * REPL runs, else the globals. */
static void push_scope(lua_State *L) {
    if (lua_rawgetp(L, LUA_REGISTRYINDEX, &env_key) == LUA_TTABLE) return;
    lua_pop(L, 1);
    lua_pushglobaltable(L);
}

static int l_complete(lua_State *L) {
    size_t len;
    const char *text = luaL_checklstring(L, 1, &len);
    lua_settop(L, 1);
    const char *sep = NULL;
    for (const char *p = text; *p; p++)
        if (*p == '.' || *p == ':') sep = p;
    const char *partial = sep ? sep + 1 : text;
    size_t plen = len - (size_t)(partial - text);
    lua_newtable(L);                               /* 2: the set of candidates */
    lua_pushlstring(L, text, (size_t)(partial - text)); /* 3: the path, kept before each name */
    push_scope(L);                                 /* 4: the value being walked */
    if (!sep) {
        add_members(L, 2, 4, 3, partial, plen, 0);
        for (const char *const *k = keywords; *k; k++)
            if (strncmp(*k, partial, plen) == 0) {
                lua_pushboolean(L, 1);
                lua_setfield(L, 2, *k);
            }
    } else {
        for (const char *p = text; p <= sep;) {
            const char *q = p;
            while (q < sep && *q != '.' && *q != ':') q++;
            int indexable = lua_type(L, -1) == LUA_TTABLE;
            if (!indexable && luaL_getmetafield(L, -1, "__index") != LUA_TNIL) {
                lua_pop(L, 1);
                indexable = 1;
            }
            if ((q < sep && *q == ':') || !is_name(p, (size_t)(q - p)) || !indexable) {
                lua_settop(L, 2); /* not a path we can walk: no candidates */
                set_to_sorted(L);
                return 1;
            }
            lua_pushlstring(L, p, (size_t)(q - p));
            lua_gettable(L, -2);
            lua_remove(L, -2);
            p = q + 1;
        }
        add_members(L, 2, 4, 3, partial, plen, *sep == ':');
        if (*sep == '.') add_submodules(L, 2, 4, 3, partial, plen);
    }
    lua_settop(L, 2);
    set_to_sorted(L);
    return 1;
}

void ml_register_complete(lua_State *L, int idx) {
    idx = lua_absindex(L, idx);
    lua_pushcfunction(L, l_complete);
    lua_setfield(L, idx, "_complete");
}

/* ---- readline glue ------------------------------------------------------
 * readline's callbacks take no user data, hence these statics. */
static lua_State *rl_L;
static const char matches_key = 0; /* registry slot for the current matches */

static char *match_generator(const char *text, int state) {
    static lua_Integer next;
    lua_State *L = rl_L;
    int top = lua_gettop(L);
    if (state == 0) {
        next = 1;
        lua_pushcfunction(L, l_complete);
        lua_pushstring(L, text);
        if (lua_pcall(L, 1, 1, 0) != LUA_OK) { /* a failing __index: no candidates */
            lua_pop(L, 1);
            lua_pushnil(L);
        }
        lua_rawsetp(L, LUA_REGISTRYINDEX, &matches_key);
    }
    char *r = NULL;
    if (lua_rawgetp(L, LUA_REGISTRYINDEX, &matches_key) == LUA_TTABLE && lua_rawgeti(L, -1, next++) == LUA_TSTRING)
        r = strdup(lua_tostring(L, -1));
    lua_settop(L, top);
    return r;
}

/* Whether position pos of the line is inside a string literal ('...' or
 * "..."): then Tab completes a file path. *open gets the quote's position. */
static int in_string(const char *line, int pos, int *open) {
    char q = 0;
    for (int i = 0; i < pos && line[i]; i++) {
        char c = line[i];
        if (q) {
            if (c == '\\' && i + 1 < pos) i++;
            else if (c == q) q = 0;
        } else if (c == '"' || c == '\'') {
            q = c;
            *open = i;
        } else if (c == '-' && line[i + 1] == '-') break; /* a comment */
    }
    return q != 0;
}

/* Inside a string the word is everything after the quote ("data/tr"), not
 * the part after the last "/". */
static char *word_break_hook(void) {
    int open;
    static char quotes[] = "\"'";
    return in_string(rl_line_buffer, rl_point, &open) ? quotes : NULL;
}

static char **attempt_completion(const char *text, int start, int end) {
    int open;
    rl_attempted_completion_over = 1;
    if (in_string(rl_line_buffer, start, &open)) { /* a file path */
        rl_completion_append_character = '\0';
        rl_filename_completion_desired = 1;
        rl_filename_quoting_desired = 0;
        return rl_completion_matches(text, rl_filename_completion_function);
    }
    rl_completion_append_character = '\0'; /* "ml.now" then "(" typed, not a space */
    return rl_completion_matches(text, match_generator);
}

/* Lists the candidates by their last name ("now", not "ml.now"): the path
 * is already on the line. */
static void display_matches(char **matches, int n, int max) {
    if (rl_filename_completion_desired) { /* file names: readline shows their last part */
        rl_display_match_list(matches, n, max);
        rl_forced_update_display();
        return;
    }
    char **names = malloc((size_t)(n + 2) * sizeof *names);
    if (!names) return;
    int width = 0;
    for (int i = 0; i <= n; i++) {
        char *s = matches[i];
        for (char *p = matches[i]; *p; p++)
            if (*p == '.' || *p == ':') s = p + 1;
        names[i] = s;
        if (i > 0 && (int)strlen(s) > width) width = (int)strlen(s);
    }
    names[n + 1] = NULL;
    rl_display_match_list(names, n, width);
    rl_forced_update_display();
    free(names);
}

static char *history_path;

static void save_history(void) {
    if (write_history(history_path) == 0) history_truncate_file(history_path, HISTORY_MAX);
}

static void setup_readline(lua_State *L) {
    rl_L = L;
    rl_readline_name = "moonlab"; /* for $if moonlab in ~/.inputrc */
    rl_catch_signals = 0;         /* Ctrl-C is handled in read_line_tty */
    /* Not '.' nor ':', so Tab sees the whole path "a.b:c". */
    rl_basic_word_break_characters = " \t\n\"'`@$><=;|&{}()[],+-*/%^~#";
    rl_completer_word_break_characters = rl_basic_word_break_characters;
    rl_attempted_completion_function = attempt_completion;
    rl_completion_display_matches_hook = display_matches;
    rl_completion_word_break_hook = word_break_hook;
    rl_basic_quote_characters = NULL; /* else a completed file name gets a closing quote the user types anyway */
    using_history();
    stifle_history(HISTORY_MAX);
    /* A multi-line chunk is one entry, in memory and in the file: entries are
     * written after a timestamp line, and lines up to the next one are joined. */
    history_comment_char = '#';
    history_write_timestamps = 1;
    history_multiline_entries = 1;
    const char *env = getenv("MOONLAB_HISTORY"), *home = getenv("HOME");
    if (env && *env) history_path = strdup(env);
    else if (home && *home && asprintf(&history_path, "%s/.moonlab_history", home) < 0) history_path = NULL;
    if (history_path) {
        read_history(history_path); /* missing on first use: fine */
        atexit(save_history);       /* runs on os.exit too */
    }
}

static void remember(const char *chunk) {
    if (!*chunk) return;
    HIST_ENTRY *last = history_length > 0 ? history_get(history_base + history_length - 1) : NULL;
    if (!last || strcmp(last->line, chunk) != 0) add_history(chunk);
}

/* ---- reading lines ------------------------------------------------------
 * On a terminal, readline's callback interface inside our own select()
 * loop: a Ctrl-C then interrupts select (our handler has no SA_RESTART) and
 * we drop the line, as shells do, instead of leaving the REPL. */
static volatile sig_atomic_t prompt_interrupted;
static char *cb_line;
static int cb_done;

static void on_prompt_sigint(int sig) { prompt_interrupted = 1; }

static void on_line(char *line) {
    cb_line = line;
    cb_done = 1;
    rl_callback_handler_remove(); /* else readline prompts again at once */
}

static char *read_line_tty(const char *prompt, int *interrupted) {
    struct sigaction sa, old;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_prompt_sigint;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, &old);
    cb_line = NULL;
    cb_done = 0;
    prompt_interrupted = 0;
    fflush(stdout);
    rl_callback_handler_install(prompt, on_line);
    int fd = fileno(rl_instream ? rl_instream : stdin);
    while (!cb_done) {
        fd_set fds;
        FD_ZERO(&fds);
        FD_SET(fd, &fds);
        int r = select(fd + 1, &fds, NULL, NULL, NULL);
        if (prompt_interrupted) {
            rl_free_line_state();
            rl_callback_sigcleanup();
            rl_replace_line("", 0);
            rl_callback_handler_remove();
            fputs("\n", stdout);
            *interrupted = 1;
            break;
        }
        if (r < 0 && errno == EINTR) continue;
        if (r < 0) { /* the terminal went away: treat as end of input */
            rl_callback_handler_remove();
            break;
        }
        rl_callback_read_char();
    }
    sigaction(SIGINT, &old, NULL);
    return cb_line;
}

/* A malloc'd line without its newline; NULL at end of input or Ctrl-C. */
static char *read_line(int tty, const char *prompt, int *interrupted) {
    *interrupted = 0;
    if (tty) return read_line_tty(prompt, interrupted);
    char *line = NULL;
    size_t cap = 0;
    ssize_t n = getline(&line, &cap, stdin);
    if (n < 0) {
        free(line);
        return NULL;
    }
    while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r')) line[--n] = '\0';
    return line;
}

/* ---- compiling ------------------------------------------------------- */

/* The chunk ended early: more lines could complete it. */
static int incomplete(lua_State *L, int status) {
    size_t n;
    const char *m = lua_tolstring(L, -1, &n);
    return status == LUA_ERRSYNTAX && m && n >= 5 && strcmp(m + n - 5, "<eof>") == 0;
}

/* Pushes buf compiled as `return buf` (an expression, whose values are then
 * printed) or else as statements; on failure pushes the statement form's
 * error, and *more says whether another line could complete either form. */
static int compile(lua_State *L, const char *buf, size_t len, int *more) {
    lua_pushliteral(L, "return ");
    lua_pushlstring(L, buf, len);
    lua_concat(L, 2);
    size_t rlen;
    const char *r = lua_tolstring(L, -1, &rlen);
    int status = luaL_loadbuffer(L, r, rlen, "=stdin");
    *more = 0;
    if (status == LUA_OK) {
        lua_remove(L, -2);
        return LUA_OK;
    }
    int expr_more = incomplete(L, status);
    lua_pop(L, 2);
    status = luaL_loadbuffer(L, buf, len, "=stdin");
    if (status != LUA_OK) *more = expr_more || incomplete(L, status);
    return status;
}

/* ---- the session's locals -----------------------------------------------
 * Every chunk runs with _ENV = a table P that holds the session's locals
 * as plain fields, with the globals behind it (__index): reading or
 * updating a local is one raw table access, as fast as a global. Writing a
 * name P does not hold goes to P when the name was declared local in an
 * earlier input (its value had been nil), else to the globals. A top-level
 * `local x = ...` is rewritten to `x = ...` with x declared, so it stays
 * visible to the next input (IPython keeps every name) without becoming a
 * global; functions typed in the REPL see it too, modules and scripts do not. */
static const char env_key = 0;
static const char declared_key = 0;
static int exit_requested;

/* exit() and quit(): leave the REPL. */
static int l_exit(lua_State *L) {
    exit_requested = 1;
    return luaL_error(L, "exit");
}

/* P.__newindex(P, k, v): k is not in P. */
static int env_newindex(lua_State *L) {
    lua_rawgetp(L, LUA_REGISTRYINDEX, &declared_key);
    lua_pushvalue(L, 2);
    if (lua_rawget(L, -2) != LUA_TNIL) {
        lua_pushvalue(L, 2);
        lua_pushvalue(L, 3);
        lua_rawset(L, 1);
    } else {
        lua_pushglobaltable(L);
        lua_pushvalue(L, 2);
        lua_pushvalue(L, 3);
        lua_settable(L, -3);
    }
    return 0;
}

/* Pushes P, made on first use. */
static void push_env(lua_State *L) {
    if (lua_rawgetp(L, LUA_REGISTRYINDEX, &env_key) == LUA_TTABLE) return;
    lua_pop(L, 1);
    lua_newtable(L); /* P */
    static const char *const leave[] = {"exit", "quit", NULL};
    for (const char *const *n = leave; *n; n++) {
        if (lua_getglobal(L, *n) == LUA_TNIL) {
            lua_pushcfunction(L, l_exit);
            lua_setfield(L, -3, *n);
        }
        lua_pop(L, 1);
    }
    lua_createtable(L, 0, 2);
    lua_pushglobaltable(L);
    lua_setfield(L, -2, "__index");
    lua_pushcfunction(L, env_newindex);
    lua_setfield(L, -2, "__newindex");
    lua_setmetatable(L, -2);
    lua_newtable(L);
    lua_rawsetp(L, LUA_REGISTRYINDEX, &declared_key);
    lua_pushvalue(L, -1);
    lua_rawsetp(L, LUA_REGISTRYINDEX, &env_key);
}

static void declare(lua_State *L, const char *name, size_t n) {
    lua_rawgetp(L, LUA_REGISTRYINDEX, &declared_key);
    lua_pushlstring(L, name, n);
    lua_pushboolean(L, 1);
    lua_rawset(L, -3);
    lua_pop(L, 1);
}

void ml_repl_add_locals(lua_State *L, int idx) {
    idx = lua_absindex(L, idx);
    push_env(L);
    lua_pushnil(L);
    while (lua_next(L, idx)) {
        if (lua_type(L, -2) == LUA_TSTRING) {
            size_t n;
            const char *k = lua_tolstring(L, -2, &n);
            declare(L, k, n);
            lua_pushvalue(L, -2);
            lua_insert(L, -2);
            lua_rawset(L, -4);
        } else lua_pop(L, 1);
    }
    lua_pop(L, 1);
}

/* Sets the _ENV of the chunk at idx to P. */
static void set_env(lua_State *L, int idx) {
    idx = lua_absindex(L, idx);
    const char *up = lua_getupvalue(L, idx, 1);
    if (!up) return;
    lua_pop(L, 1);
    if (strcmp(up, "_ENV") != 0) return;
    push_env(L);
    lua_setupvalue(L, idx, 1);
}

/* A small Lua lexer, enough to find the top-level `local`s of a chunk. */
typedef struct {
    const char *s;
    size_t n, i;
    size_t start, end; /* the last token */
} lexer;

enum { TK_EOF, TK_NAME, TK_OTHER };

/* Length of a long bracket opening "[==[" at s[i] (its level + 2), or 0. */
static size_t long_open(const lexer *x, size_t i) {
    if (i >= x->n || x->s[i] != '[') return 0;
    size_t j = i + 1;
    while (j < x->n && x->s[j] == '=') j++;
    return j < x->n && x->s[j] == '[' ? j - i + 1 : 0;
}

static void skip_long(lexer *x, size_t open) {
    size_t level = open - 2;
    x->i += open;
    while (x->i < x->n) {
        if (x->s[x->i] == ']') {
            size_t j = x->i + 1, k = 0;
            while (j < x->n && x->s[j] == '=') { j++; k++; }
            if (k == level && j < x->n && x->s[j] == ']') { x->i = j + 1; return; }
        }
        x->i++;
    }
}

static int next_token(lexer *x) {
    for (;;) {
        while (x->i < x->n && isspace((unsigned char)x->s[x->i])) x->i++;
        if (x->i + 1 < x->n && x->s[x->i] == '-' && x->s[x->i + 1] == '-') {
            x->i += 2;
            size_t open = long_open(x, x->i);
            if (open) skip_long(x, open);
            else while (x->i < x->n && x->s[x->i] != '\n') x->i++;
            continue;
        }
        break;
    }
    x->start = x->i;
    if (x->i >= x->n) return TK_EOF;
    unsigned char c = (unsigned char)x->s[x->i];
    if (isalpha(c) || c == '_') {
        while (x->i < x->n && (isalnum((unsigned char)x->s[x->i]) || x->s[x->i] == '_')) x->i++;
        x->end = x->i;
        return TK_NAME;
    }
    if (isdigit(c)) { /* numbers: digits, letters, dots, exponent signs */
        while (x->i < x->n && (isalnum((unsigned char)x->s[x->i]) || x->s[x->i] == '.' ||
                               ((x->s[x->i] == '+' || x->s[x->i] == '-') && strchr("eEpP", x->s[x->i - 1]))))
            x->i++;
    } else if (c == '"' || c == '\'') {
        x->i++;
        while (x->i < x->n && x->s[x->i] != (char)c && x->s[x->i] != '\n') x->i += x->s[x->i] == '\\' ? 2 : 1;
        if (x->i < x->n) x->i++;
    } else if (long_open(x, x->i)) skip_long(x, long_open(x, x->i));
    else x->i++;
    if (x->i > x->n) x->i = x->n;
    x->end = x->i;
    return TK_OTHER;
}

static int tok_is(const lexer *x, const char *w) {
    size_t n = strlen(w);
    return x->end - x->start == n && memcmp(x->s + x->start, w, n) == 0;
}

/* For the chunk buf, pushes its text with each top-level `local` rewritten
 * as an assignment, and a table of the names it declares; returns 0 (and
 * pushes nothing) when it has none. "local a, b <const>" becomes
 * "      a, b          = nil"; "local function f" becomes "function f". */
static int localize(lua_State *L, const char *buf, size_t len) {
    lexer x = {buf, len, 0, 0, 0};
    int depth = 0, found = 0, tk;
    luaL_Buffer b;
    size_t copied = 0;
    lua_newtable(L); /* names */
    int names = lua_gettop(L);
    luaL_buffinit(L, &b);
#define COPY_TO(pos) do { luaL_addlstring(&b, buf + copied, (pos) - copied); copied = (pos); } while (0)
    while ((tk = next_token(&x)) != TK_EOF) {
        if (tk != TK_NAME) continue;
        if (tok_is(&x, "function") || tok_is(&x, "do") || tok_is(&x, "if") || tok_is(&x, "repeat")) depth++;
        else if ((tok_is(&x, "end") || tok_is(&x, "until")) && depth > 0) depth--;
        else if (depth == 0 && tok_is(&x, "local")) {
            found = 1;
            COPY_TO(x.start);
            for (size_t k = x.start; k < x.end; k++) luaL_addchar(&b, ' ');
            copied = x.end;
            tk = next_token(&x);
            if (tk == TK_NAME && tok_is(&x, "function")) {
                depth++;
                if (next_token(&x) == TK_NAME) {
                    lua_pushlstring(L, buf + x.start, x.end - x.start);
                    lua_rawseti(L, names, (lua_Integer)lua_rawlen(L, names) + 1);
                }
                continue;
            }
            for (;;) {
                if (tk != TK_NAME) break;
                lua_pushlstring(L, buf + x.start, x.end - x.start);
                lua_rawseti(L, names, (lua_Integer)lua_rawlen(L, names) + 1);
                size_t after = x.end;
                tk = next_token(&x);
                if (tk == TK_OTHER && buf[x.start] == '<') { /* an attribute: blanked */
                    COPY_TO(x.start);
                    while ((tk = next_token(&x)) != TK_EOF && !(tk == TK_OTHER && buf[x.start] == '>')) {}
                    for (size_t k = copied; k < x.end; k++) luaL_addchar(&b, ' ');
                    copied = x.end;
                    after = x.end;
                    tk = next_token(&x);
                }
                if (tk == TK_OTHER && buf[x.start] == ',') { tk = next_token(&x); continue; }
                if (!(tk == TK_OTHER && buf[x.start] == '=' && !(x.start + 1 < len && buf[x.start + 1] == '='))) {
                    COPY_TO(after); /* `local a, b` alone: assign nil */
                    luaL_addstring(&b, " = nil");
                    /* the token read belongs to the next statement */
                    x.i = x.start;
                }
                break;
            }
        }
    }
    if (!found) {
        luaL_pushresult(&b);
        lua_settop(L, names - 1);
        return 0;
    }
    COPY_TO(len);
#undef COPY_TO
    luaL_pushresult(&b);
    lua_insert(L, names);
    return 1;
}

/* Compiles buf for the session: the top-level locals rewritten (when that
 * compiles) and _ENV set to P; the function replaces the one at the top. */
static void prepare_chunk(lua_State *L, const char *buf, size_t len) {
    int fn = lua_gettop(L);
    if (localize(L, buf, len)) {
        size_t n;
        const char *code = lua_tolstring(L, fn + 1, &n);
        if (luaL_loadbuffer(L, code, n, "=stdin") == LUA_OK) {
            lua_replace(L, fn);
            push_env(L);
            lua_pop(L, 1);
            lua_pushnil(L);
            while (lua_next(L, fn + 2)) {
                size_t k;
                const char *name = lua_tolstring(L, -1, &k);
                declare(L, name, k);
                lua_pop(L, 1);
            }
        }
        lua_settop(L, fn);
    }
    set_env(L, fn);
}

/* ---- showing results --------------------------------------------------- */

/* s as a Lua string literal, cut after max characters. */
static void push_quoted(lua_State *L, const char *s, size_t len, size_t max) {
    luaL_Buffer b;
    luaL_buffinit(L, &b);
    luaL_addchar(&b, '"');
    for (size_t i = 0; i < len && i < max; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '"' || c == '\\') { luaL_addchar(&b, '\\'); luaL_addchar(&b, (char)c); }
        else if (c == '\n') luaL_addstring(&b, "\\n");
        else if (c == '\t') luaL_addstring(&b, "\\t");
        else if (c < 32 || c == 127) {
            char e[8];
            snprintf(e, sizeof e, "\\%03d", c);
            luaL_addstring(&b, e);
        } else luaL_addchar(&b, (char)c);
    }
    luaL_addstring(&b, len > max ? "\"..." : "\"");
    luaL_pushresult(&b);
}

static int has_tostring(lua_State *L, int idx) {
    if (luaL_getmetafield(L, idx, "__tostring") == LUA_TNIL) return 0;
    lua_pop(L, 1);
    return 1;
}

/* One value inside a table, on one line: strings quoted, tables as {...},
 * anything else by tostring cut at its first line (a tensor's header). */
static void push_short(lua_State *L, int idx) {
    idx = lua_absindex(L, idx);
    size_t n;
    if (lua_type(L, idx) == LUA_TSTRING) {
        const char *s = lua_tolstring(L, idx, &n);
        push_quoted(L, s, n, SHOW_WIDTH);
        return;
    }
    if (lua_type(L, idx) == LUA_TTABLE && !has_tostring(L, idx)) {
        lua_pushnil(L);
        int empty = !lua_next(L, idx);
        if (!empty) lua_pop(L, 2);
        lua_pushstring(L, empty ? "{}" : "{...}");
        return;
    }
    const char *s = luaL_tolstring(L, idx, &n);
    size_t cut = strcspn(s, "\n");
    if (cut == n && n <= SHOW_WIDTH) return;
    /* A tensor too long for one line: its footer, which has the shape. */
    const char *footer = luaL_testudata(L, idx, "moonlab.Tensor") ? strstr(s, "dtype=") : NULL;
    if (footer) {
        lua_pushfstring(L, "tensor(..., %s", footer);
        lua_remove(L, -2);
        return;
    }
    /* Else cut at the last space or comma before the limit, not mid-token. */
    if (cut > SHOW_WIDTH) cut = SHOW_WIDTH;
    size_t k = cut;
    while (k > SHOW_WIDTH / 2 && !strchr(" ,;", s[k - 1])) k--;
    if (k > SHOW_WIDTH / 2) cut = k;
    while (cut > 0 && s[cut - 1] == ' ') cut--;
    lua_pushlstring(L, s, cut);
    lua_pushliteral(L, " ...");
    lua_concat(L, 2);
    lua_remove(L, -2);
}

/* A table key as written in a constructor: name, ["any string"], [1.5]. */
static void push_key(lua_State *L, int idx) {
    size_t n;
    if (lua_type(L, idx) == LUA_TSTRING) {
        const char *s = lua_tolstring(L, idx, &n);
        if (is_name(s, n)) { lua_pushvalue(L, idx); return; }
        push_quoted(L, s, n, SHOW_WIDTH);
    } else luaL_tolstring(L, idx, NULL);
    lua_pushliteral(L, "[");
    lua_insert(L, -2);
    lua_pushliteral(L, "]");
    lua_concat(L, 3);
}

/* Keys sort numbers first (by value), then strings, then the rest (as met). */
typedef struct {
    int kind;
    double num;
    const char *str;
    lua_Integer pos;
} key_order;

static int cmp_key(const void *pa, const void *pb) {
    const key_order *a = pa, *b = pb;
    if (a->kind != b->kind) return a->kind - b->kind;
    if (a->kind == 0 && a->num != b->num) return (a->num > b->num) - (a->num < b->num);
    if (a->kind == 1) return strcmp(a->str, b->str);
    return (a->pos > b->pos) - (a->pos < b->pos);
}

/* A plain table, one level deep: the sequence part in order, then the other
 * keys sorted, at most SHOW_ITEMS entries; on one line when it fits. */
static void push_table(lua_State *L, int t) {
    t = lua_absindex(L, t);
    lua_Integer n = (lua_Integer)lua_rawlen(L, t), nk = 0;
    lua_newtable(L); /* the keys outside 1..n */
    int keys = lua_gettop(L);
    lua_pushnil(L);
    while (lua_next(L, t)) {
        lua_pop(L, 1);
        if (lua_isinteger(L, -1) && lua_tointeger(L, -1) >= 1 && lua_tointeger(L, -1) <= n) continue;
        lua_pushvalue(L, -1);
        lua_rawseti(L, keys, ++nk);
    }
    key_order *order = lua_newuserdatauv(L, (size_t)(nk ? nk : 1) * sizeof *order, 0);
    for (lua_Integer i = 0; i < nk; i++) {
        int type = lua_rawgeti(L, keys, i + 1);
        order[i].kind = type == LUA_TNUMBER ? 0 : type == LUA_TSTRING ? 1 : 2;
        order[i].num = type == LUA_TNUMBER ? lua_tonumber(L, -1) : 0;
        order[i].str = type == LUA_TSTRING ? lua_tostring(L, -1) : NULL; /* anchored in keys */
        order[i].pos = i + 1;
        lua_pop(L, 1);
    }
    qsort(order, (size_t)nk, sizeof *order, cmp_key);

    lua_newtable(L); /* the entries, as strings */
    int parts = lua_gettop(L), np = 0;
    size_t width = 2;
    for (lua_Integer i = 1; i <= n && np < SHOW_ITEMS; i++) {
        lua_rawgeti(L, t, i);
        push_short(L, -1);
        width += lua_rawlen(L, -1) + 2;
        lua_rawseti(L, parts, ++np);
        lua_pop(L, 1);
    }
    for (lua_Integer i = 0; i < nk && np < SHOW_ITEMS; i++) {
        lua_rawgeti(L, keys, order[i].pos);
        push_key(L, -1);
        lua_pushliteral(L, " = ");
        lua_rawgeti(L, keys, order[i].pos);
        lua_rawget(L, t);
        push_short(L, -1);
        lua_remove(L, -2);
        lua_concat(L, 3);
        width += lua_rawlen(L, -1) + 2;
        lua_rawseti(L, parts, ++np);
        lua_pop(L, 1);
    }
    lua_Integer more = n + nk - np;

    luaL_Buffer b;
    luaL_buffinit(L, &b);
    int one_line = width + (more ? 16 : 0) <= LINE_WIDTH;
    luaL_addstring(&b, one_line ? "{" : "{\n");
    for (int i = 1; i <= np; i++) {
        if (!one_line) luaL_addstring(&b, "  ");
        lua_rawgeti(L, parts, i);
        luaL_addvalue(&b);
        if (!one_line) luaL_addstring(&b, ",\n");
        else if (i < np || more) luaL_addstring(&b, ", ");
    }
    if (more) {
        lua_pushfstring(L, "%s... (%I more)%s", one_line ? "" : "  ", more, one_line ? "" : "\n");
        luaL_addvalue(&b);
    }
    luaL_addchar(&b, '}');
    luaL_pushresult(&b);
    lua_replace(L, keys);
    lua_settop(L, keys);
}

/* Prints its arguments, tab-separated: tables readably, the rest (strings
 * raw, tensors through their __tostring) as tostring does. */
static int l_show(lua_State *L) {
    int n = lua_gettop(L);
    for (int i = 1; i <= n; i++) {
        if (lua_type(L, i) == LUA_TTABLE && !has_tostring(L, i)) push_table(L, i);
        else luaL_tolstring(L, i, NULL);
        size_t len;
        const char *s = lua_tolstring(L, -1, &len);
        if (i > 1) fputc('\t', stdout);
        fwrite(s, 1, len, stdout);
        lua_pop(L, 1);
    }
    fputc('\n', stdout);
    return 0;
}

/* Calls ml.doc(x) (at index doc) for the value at idx: whether it has a doc. */
static int documented(lua_State *L, int doc, int idx) {
    if (!lua_isfunction(L, doc)) return 0;
    lua_pushvalue(L, doc);
    lua_pushvalue(L, idx);
    lua_call(L, 1, 1);
    int r = !lua_isnil(L, -1);
    lua_pop(L, 1);
    return r;
}

/* ?expr: help on a value, with ml.help when there is one (else the value's
 * type). `x:name` asks for x.name. A function, table or userdata goes to
 * ml.help as it is; anything else, and a function without a doc, goes as
 * its name ("sum", "Tensor.sum", "t:sum" with no t), which ml.help looks up
 * among the documented names. An expression that fails to run and names
 * nothing documented shows its error. */
static int l_help(lua_State *L) {
    const char *expr = luaL_checkstring(L, 1);
    const char *colon = strrchr(expr, ':');
    if (colon && colon > expr && is_name(colon + 1, strlen(colon + 1))) {
        lua_pushliteral(L, "return (");
        lua_pushlstring(L, expr, (size_t)(colon - expr));
        lua_pushliteral(L, ").");
        lua_pushstring(L, colon + 1);
        lua_concat(L, 4);
    } else lua_pushfstring(L, "return %s", expr);
    size_t clen;
    const char *code = lua_tolstring(L, 2, &clen);
    int status = luaL_loadbuffer(L, code, clen, "=stdin");
    if (status == LUA_OK) {
        set_env(L, -1); /* the session's locals are values here */
        status = lua_pcall(L, 0, 1, 0);
    }
    const int v = 3, help = 5, doc = 6; /* the value (or error), ml, ml.help, ml.doc */
    if (lua_getglobal(L, "ml") == LUA_TTABLE) {
        lua_getfield(L, 4, "help");
        lua_getfield(L, 4, "doc");
    } else lua_settop(L, doc);
    if (!lua_isfunction(L, help)) {
        if (status != LUA_OK) {
            lua_pushvalue(L, v);
            return lua_error(L);
        }
        printf("%s: %s (no ml.help to say more)\n", expr, luaL_typename(L, v));
        return 0;
    }
    int t = lua_type(L, v);
    int value = status == LUA_OK && (t == LUA_TTABLE || t == LUA_TUSERDATA || (t == LUA_TFUNCTION && documented(L, doc, v)));
    if (!value) {
        int named = documented(L, doc, 1);
        if (status != LUA_OK && status != LUA_ERRSYNTAX && !named) { /* nothing there: no raw Lua error */
            fflush(stdout);
            fprintf(stderr, "ml.help: no help for '%s' (not a value here, nor a documented name)\n", expr);
            fflush(stderr);
            return 0;
        }
        if (status == LUA_OK && t != LUA_TNIL && t != LUA_TFUNCTION && !named) { /* a plain value */
            printf("%s: %s\n", expr, luaL_typename(L, v));
            return 0;
        }
    }
    lua_pushvalue(L, help);
    lua_pushvalue(L, value ? v : 1);
    lua_call(L, 1, 0);
    return 0;
}

/* ---- the loop ------------------------------------------------------------ */

static void show_error(lua_State *L) {
    fflush(stdout);
    const char *msg = lua_tostring(L, -1);
    fprintf(stderr, "%s\n", msg ? msg : "(error object is not a string)");
    fflush(stderr);
    lua_pop(L, 1);
}

/* Runs the function at the top and prints what it returns. */
static int run_chunk(lua_State *L) {
    int base = lua_gettop(L);
    double t0 = now_seconds();
    int status = ml_docall(L, 0, LUA_MULTRET);
    double dt = now_seconds() - t0;
    if (status == LUA_OK && lua_gettop(L) >= base) {
        int n = lua_gettop(L) - base + 1;
        lua_pushvalue(L, base);
        lua_setglobal(L, "_");
        lua_pushcfunction(L, l_show);
        lua_insert(L, base);
        status = ml_docall(L, n, 0);
    }
    if (status != LUA_OK && exit_requested) status = LUA_OK; /* exit() or quit() */
    else if (status != LUA_OK) show_error(L);
    lua_settop(L, base - 1);
    if (dt > SLOW_SECONDS) printf("(%.2f s)\n", dt);
    fflush(stdout);
    return status;
}

static void run_help(lua_State *L, const char *expr) {
    while (isspace((unsigned char)*expr)) expr++;
    if (!*expr) { fputs(help_text, stdout); return; }
    lua_pushcfunction(L, l_help);
    lua_pushstring(L, expr);
    if (ml_docall(L, 1, 0) != LUA_OK) show_error(L);
    fflush(stdout);
}

enum { CHUNK_OK, CHUNK_NONE, CHUNK_ERROR, CHUNK_EOF };

/* Reads lines until they form a chunk: pushes its function (CHUNK_OK) or
 * its error (CHUNK_ERROR); CHUNK_NONE for blank lines, help and Ctrl-C. */
static int read_chunk(lua_State *L, int tty) {
    int interrupted;
    char *line = read_line(tty, PROMPT, &interrupted);
    if (!line) return interrupted ? CHUNK_NONE : CHUNK_EOF;
    char *s = line;
    while (isspace((unsigned char)*s)) s++;
    size_t n = strlen(s);
    while (n > 0 && isspace((unsigned char)s[n - 1])) n--;
    s[n] = '\0';
    if (!strcmp(s, "exit") || !strcmp(s, "quit") || !strcmp(s, "exit()") || !strcmp(s, "quit()")) {
        free(line);
        return CHUNK_EOF;
    }
    if (n == 0) { free(line); return CHUNK_NONE; }
    if (s[0] == '?') {
        if (tty) remember(line);
        run_help(L, s + 1);
        free(line);
        return CHUNK_NONE;
    }
    char *buf = line;
    size_t len = strlen(buf);
    for (;;) {
        int more;
        int status = compile(L, buf, len, &more);
        if (status == LUA_OK || !more) {
            if (tty) remember(buf);
            if (status == LUA_OK) prepare_chunk(L, buf, len);
            free(buf);
            return status == LUA_OK ? CHUNK_OK : CHUNK_ERROR;
        }
        lua_pop(L, 1);
        char *next = read_line(tty, PROMPT_MORE, &interrupted);
        if (!next) { /* Ctrl-C drops the chunk; end of input reports it */
            if (interrupted) { free(buf); return CHUNK_NONE; }
            compile(L, buf, len, &more);
            free(buf);
            return CHUNK_ERROR;
        }
        size_t nlen = strlen(next);
        char *grown = realloc(buf, len + nlen + 2);
        if (!grown) { free(next); free(buf); lua_pushliteral(L, "not enough memory"); return CHUNK_ERROR; }
        buf = grown;
        buf[len++] = '\n';
        memcpy(buf + len, next, nlen + 1);
        len += nlen;
        free(next);
    }
}

int ml_repl(lua_State *L) {
    int tty = isatty(STDIN_FILENO);
    int top = lua_gettop(L), failed = 0;
    if (tty) {
        setup_readline(L);
        lua_getglobal(L, "ml");
        if (lua_istable(L, -1)) lua_getfield(L, -1, "version");
        const char *v = lua_tostring(L, -1);
        printf("moonlab %s (%s)  ?  for help, exit or Ctrl-D to quit\n", v ? v : "", LUA_RELEASE);
        lua_settop(L, top);
    }
    for (;;) {
        int st = read_chunk(L, tty);
        if (st == CHUNK_EOF) break;
        if (st == CHUNK_NONE) continue;
        if (st == CHUNK_ERROR) show_error(L);
        else if (run_chunk(L) == LUA_OK) {
            if (exit_requested) break;
            continue;
        }
        failed = 1;
    }
    if (tty) fputs("\n", stdout);
    fflush(stdout);
    lua_settop(L, top);
    return tty ? 0 : failed;
}
