/* TFRecord framing and its CRC-32C, the container of TensorBoard's event
 * files (lualib/moonlab/track/tensorboard.lua). Nothing here knows Lua.
 *
 * A record is: uint64 length (little-endian), the masked CRC-32C of those 8
 * bytes (uint32), the data, the masked CRC-32C of the data (uint32). */
#ifndef ML_TFRECORD_H
#define ML_TFRECORD_H

#include <stddef.h>
#include <stdint.h>

#include "../core/buf.h"

/* CRC-32C (Castagnoli, reflected 0x82F63B78) of n bytes, continuing from
 * crc (0 for a fresh one): ml_crc32c(0, "123456789", 9) == 0xE3069283.
 * SSE4.2's crc32 instruction when the CPU has it, a table otherwise. */
uint32_t ml_crc32c(uint32_t crc, const void *p, size_t n);
/* The same, always through the table (the tests compare both paths). */
uint32_t ml_crc32c_table(uint32_t crc, const void *p, size_t n);
/* TFRecord's mask: ((crc >> 15) | (crc << 17)) + 0xa282ead8, so a CRC of
 * data holding CRCs stays well distributed. */
uint32_t ml_crc32c_mask(uint32_t crc);

/* Appends one record framing data[0..n) to out (n + 16 bytes). */
void ml_tfrecord_frame(ml_buf *out, const void *data, size_t n);

/* Reads the record at *pos of buf[0..len): sets *data and *n and moves
 * *pos past it; 1 on a record, 0 at the end, -1 with err filled on a cut
 * record or a CRC that does not match. */
int ml_tfrecord_next(const uint8_t *buf, size_t len, size_t *pos, const uint8_t **data, uint64_t *n, char *err,
                     size_t errlen);

#endif
