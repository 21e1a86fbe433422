/* IDX files, the format of MNIST, Fashion-MNIST, EMNIST and KMNIST.
 *
 * Layout: 4 magic bytes 0x00 0x00 TYPE NDIM, then NDIM big-endian uint32
 * sizes, then the data, big-endian, in C order. TYPE is one of
 *   0x08 u8   0x09 i8   0x0B i16   0x0C i32   0x0D f32   0x0E f64
 * Files may be gzipped (as they are distributed) or plain: zlib's gzread
 * reads both.
 *
 * Nothing here knows about Lua. Both readers return a new tensor, or NULL
 * with a message in ml_last_error() that starts with "data.read_idx: " and
 * names the file: a missing file, a foreign or corrupt header, a data type
 * code that IDX does not have, sizes that the file cannot hold, data that
 * ends early ("'f' is truncated: expected 47040000 bytes of data, got
 * 1000"), bytes after the data, corrupt gzip data. The header is checked
 * before anything is allocated: a plain file must hold the declared data,
 * and a gzipped one cannot declare more than deflate's largest ratio
 * (1032:1) lets its compressed size hold. */
#ifndef ML_IDX_H
#define ML_IDX_H

#include "../tensor/tensor.h"

/* Integer types (u8, i8, i16, i32) load as int64, f32 as float32, f64 as
 * float64; the shape is the file's. */
ml_tensor *ml_read_idx(const char *path);

/* Any type, loaded as float32 value * scale: ml_read_idx_scaled(p, 1.0/255)
 * reads u8 images straight into [0, 1] floats, with no int64 tensor in
 * between. When 1/scale is an integer d (255), each value is computed as the
 * float32 division v / d, bit for bit what PyTorch's x.float() / 255 gives. */
ml_tensor *ml_read_idx_scaled(const char *path, double scale);

#endif
