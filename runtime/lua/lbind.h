/* Helpers shared by the Lua bindings: the only place (with the other files
 * of runtime/lua/) that includes lua.h. Bindings validate, call the runtime,
 * and push results; they do no arithmetic.
 *
 * Each area registers itself with lb_open_<area>(L), called from moonlab.c
 * with the module table `ml` at stack index 1 and the tensor method table
 * at stack index 2. */
#ifndef ML_LBIND_H
#define ML_LBIND_H

#include <lauxlib.h>
#include <lua.h>

#include "../tensor/tensor.h"

#define LB_TENSOR_MT "moonlab.Tensor"

/* Tensor userdata: a box holding one reference to a C tensor, and a mark
 * (the interpreter's tensor metatable's address) that tells a tensor box
 * from any other userdata of its size without pushing its metatable. */
typedef struct {
    ml_tensor *t;
    const void *mark;
} lb_box;

/* Returns the tensor at idx or raises "fn: argument #k: expected a tensor, got TYPE". Borrowed. */
ml_tensor *lb_check_tensor(lua_State *L, int idx, const char *fn);
ml_tensor *lb_test_tensor(lua_State *L, int idx); /* NULL when not a tensor; raises on a freed one */
bool lb_is_tensor(lua_State *L, int idx);         /* a tensor box, freed or not; never raises */
lb_box *lb_test_box(lua_State *L, int idx);       /* the box at idx (its t NULL once freed), or NULL; never raises */
/* Tensor or number (a number becomes a 0-d tensor of dtype `like` when
 * float, else float32/int64 by value). Returns a NEW reference. */
ml_tensor *lb_tensor_or_number(lua_State *L, int idx, const char *fn, ml_dtype like);
/* Pushes t, taking over the reference. t == NULL raises the runtime error. */
void lb_push_tensor(lua_State *L, ml_tensor *t);
/* Like lb_push_tensor, but the same C tensor always gets the same Lua
 * object while that object lives (used for .grad). Does NOT take the reference. */
void lb_push_tensor_shared(lua_State *L, ml_tensor *t);
/* Records the tensor metatable (at idx) for the fast type checks. */
void lb_remember_tensor_mt(lua_State *L, int idx);
/* Values the hot paths push per call, kept per interpreter and pushed by
 * integer from the registry (cheaper than luaL_getmetatable's lookup by
 * name). lb_slot_push pushes nil for a slot never set. */
typedef enum { LB_SLOT_TENSOR_MT, LB_SLOT_SHAPE_MT, LB_NSLOTS } lb_slot;
void lb_slot_set(lua_State *L, lb_slot slot, int idx);
void lb_slot_push(lua_State *L, lb_slot slot);
/* Raises the runtime's last error as a Lua error. */
int lb_raise(lua_State *L);
/* Raises the runtime's last error under the function name fn. */
int lb_raise_as(lua_State *L, const char *fn);

/* A 1-based (or negative) dimension argument, returned 0-based. */
int lb_check_dim(lua_State *L, int idx, int ndim, const char *fn);
/* A 1-based (or negative, from the end) index i along dimension dim
 * (0-based, for the message) of size n, returned 0-based; raises with the
 * full value (and the numbering when i is 0). */
int64_t lb_index(lua_State *L, lua_Integer i, int64_t n, int dim, const char *fn);
/* Shape from a table {2,3} at idx, or from the integers idx..top.
 * Returns ndim. Raises on negative or non-integer sizes. */
int lb_check_shape(lua_State *L, int idx, int64_t *shape, const char *fn);
/* Validates that the table at idx (if any) has only the keys in known (NULL-terminated). */
void lb_check_options(lua_State *L, int idx, const char *fn, const char *const *known);
ml_dtype lb_check_dtype_name(lua_State *L, int idx, const char *fn);
/* Boolean / number option fields (return def when absent). */
int lb_opt_bool_field(lua_State *L, int idx, const char *key, int def);
double lb_opt_number_field(lua_State *L, int idx, const char *key, double def);

/* Registers fns into the table at index `tidx` (absolute). */
void lb_setfuncs(lua_State *L, int tidx, const luaL_Reg *fns);

/* Tells Lua's collector about tensor memory allocated since the last call. */
void lb_gc_account(lua_State *L);
/* Tensors held by Lua values right now (lb_push_tensor makes one, release ends it). */
extern _Thread_local int64_t lb_boxes_live;

/* Docstrings (help.c). A binding documents what it registered with a
 * static array ended by {NULL, NULL}; an entry with doc == NULL is a section
 * heading for the entries after it (the groups of ml.help's listings):
 *   static const lb_doc docs[] = {
 *       {"Reductions", NULL},
 *       {"sum", "t:sum([dim], [keepdim]) -> tensor — sum of all elements (0-d) or along 1-based dim"},
 *       {NULL, NULL},
 *   };
 *   lb_add_docs(L, 2, docs);
 * Each name is looked up (raw) in the table at tidx, and its value gets the
 * doc; a name that is not there is an error. Docs belong to values, so a
 * function registered in both ml and the method table needs one doc. */
typedef struct {
    const char *name;
    const char *doc;
} lb_doc;
void lb_add_docs(lua_State *L, int tidx, const lb_doc *docs);

/* Area openers (each file of runtime/lua/ has one). */
void lb_open_help(lua_State *L);
void lb_open_tensor(lua_State *L);
void lb_open_create(lua_State *L);
void lb_open_math(lua_State *L);
void lb_open_reduce(lua_State *L);
void lb_open_linalg(lua_State *L);
void lb_open_shape(lua_State *L);
void lb_open_index(lua_State *L);
void lb_open_autograd(lua_State *L);
void lb_open_io(lua_State *L);
void lb_open_print(lua_State *L);
void lb_open_time(lua_State *L);
void lb_open_memory(lua_State *L);
void lb_open_nnops(lua_State *L);
void lb_open_attention(lua_State *L); /* ml._attention */
void lb_open_conv(lua_State *L);  /* ml._conv: convolution and pooling */
void lb_open_optim(lua_State *L);
void lb_open_data(lua_State *L);
void lb_open_sys(lua_State *L);
void lb_open_http(lua_State *L); /* ml._http: the HTTP layer */  /* ml._train: terminal, Ctrl-C */
/* Adds the fused training step (plan, step) to the ml._train table at the top of the stack. */
void lb_train_step_register(lua_State *L);
/* The plan of the ml._train.plan box at idx (raises when it is not one, or freed). */
struct ml_train_plan;
struct ml_train_plan *lb_train_plan_of(lua_State *L, int idx);
/* A worker's C predict routes (predict_route.c), for the HTTP binding. */
typedef struct lb_routes lb_routes;
struct ml_http_server;
struct ml_http_exchange;
lb_routes *lb_routes_new(lua_State *L, struct ml_http_server *srv); /* NULL: out of memory */
void lb_routes_free(lb_routes *rs);                                 /* NULL-safe; before lua_close */
int lb_routes_try(lb_routes *rs, struct ml_http_exchange *x);      /* 1: answered in C; 2: parked in a batch */
int lb_routes_tick(lb_routes *rs, int new_turn);                   /* runs the waiting batches; -1 */
int lb_routes_owns(const lb_routes *rs, const struct ml_http_exchange *x); /* x is parked by the routes */
int lb_routes_resume(lb_routes *rs, struct ml_http_exchange *x);   /* 1: the Lua path must answer x */
/* Adds predict_route, predict_route_drop and shared_generation to the table at t. */
void lb_predict_route_register(lua_State *L, int t);
/* ml._optim.step_all's body: steps every {flat, group, gi} of the list at idx (absolute index). */
int lb_optim_step_blocks(lua_State *L, int idx);
/* The C loader in the data.loader box at idx (raises when closed), for fit's fused step to pull batches from. */
struct ml_loader;
struct ml_loader *lb_loader_of(lua_State *L, int idx);
void lb_open_json(lua_State *L); /* ml.json */
void lb_open_strpool(lua_State *L); /* ml._strings: data frames' string pool */
void lb_open_prep(lua_State *L);    /* ml._prep: column kernels of ml.prep */
void lb_open_neighbors(lua_State *L); /* ml._neighbors: brute-force nearest neighbours */
void lb_open_linear_models(lua_State *L); /* ml._linear: the linear estimators' kernels */
void lb_open_frame(lua_State *L);   /* ml._frame: data frames' kernels (runtime/data/frame_ops.h) */
void lb_open_csv(lua_State *L); /* ml._csv: the CSV reader and writer */
/* The string pool userdata (runtime/lua/strpool.c): push takes the caller's reference (NULL raises). */
struct ml_strpool;
void lb_push_strpool(lua_State *L, struct ml_strpool *p);
struct ml_strpool *lb_check_strpool(lua_State *L, int idx, const char *fn);
void lb_open_augment(lua_State *L); /* ml._augment: augmentation plans and kernels */
/* The augmentation plan userdata at idx as a loader transform (runtime/lua/augment.c): *run and a
 * heap copy of the plan in *ctx, freed with free(); raises "fn: ..." when idx holds no plan. */
void lb_aug_loader_transform(lua_State *L, int idx, const char *fn,
                             ml_tensor *(**run)(void *, const ml_tensor *, int64_t, int64_t, bool), void **ctx);
void lb_open_sparse(lua_State *L); void lb_open_text(lua_State *L); /* ml._sparse, ml._text: CSR kernels and text features */
void lb_open_rnn(lua_State *L); /* ml._rnn: the fused recurrent scans */
void lb_open_journal(lua_State *L); /* ml._journal: locked appends to a search journal */
void lb_open_metrics(lua_State *L); /* ml._metrics: the kernels of ml.metrics */
void lb_open_boosting(lua_State *L); /* ml._boosting: histogram gradient boosting */
void lb_open_proc(lua_State *L); /* ml._proc: worker processes (core/workers.lua) */
void lb_open_trees(lua_State *L); /* ml._trees: decision trees and forests */
void lb_open_image(lua_State *L); /* ml._image: PNG files through libpng */
void lb_open_track(lua_State *L); /* ml._track: run records (SHA-256, appends) */
void lb_open_stop_signal(lua_State *L); /* ml._stop: SIGTERM/SIGINT as a flag (the model server's wait) */
void lb_open_tensorboard(lua_State *L); /* ml._tensorboard: CRC-32C, TFRecord framing, histograms */
void lb_open_cairo(lua_State *L); /* ml._cairo: the drawing behind ml.plot */

#endif
