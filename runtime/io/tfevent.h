/* The hot TensorBoard event in C: an Event holding a Summary of scalar
 * values, encoded as lualib/moonlab/track/protobuf.lua encodes it (the same
 * bytes; tests/lua/test_tensorboard.lua compares them), since a fit logging
 * per batch writes a few per batch. Nothing here knows Lua. */
#ifndef ML_TFEVENT_H
#define ML_TFEVENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../core/buf.h"

/* Appends Event{wall_time, step, summary{value{tag, simple_value}...}} to
 * out; with as_double each value is instead a DT_DOUBLE tensor with the
 * scalars plugin's metadata (data_class DATA_CLASS_SCALAR). */
void ml_tfevent_scalars(ml_buf *out, double wall_time, int64_t step, int n, const char *const *tags,
                        const size_t *tag_lens, const double *values, bool as_double);

#endif
