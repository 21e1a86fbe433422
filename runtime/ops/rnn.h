/* Fused recurrent scans (rnn.c): the hidden-to-hidden part of RNN, LSTM
 * and GRU layers, one direction of one layer, forward and backward (BPTT).
 *
 * The input part gx = x W_ih^T + b_ih is one matrix product over the whole
 * sequence, done before the scan by the caller (nn.linear); the scan then
 * runs, per time step, one GEMM h_prev W_hh^T and ONE pass that adds the
 * bias, applies the gate nonlinearities (vecmath sigmoid / tanh) and
 * updates the state. Gate order and equations are PyTorch's:
 *   RNN   h = act(gx + W_hh h' + b_hh)                      (act tanh or relu)
 *   LSTM  i,f,g,o = s(.), s(.), tanh(.), s(.) of gx + W_hh h' + b_hh
 *         c = f c' + i g,  h = o tanh(c)
 *   GRU   r,z = s(gx_rz + W_hr,z h' + b_hr,z),  n = tanh(gx_n + r (W_hn h' + b_hn))
 *         h = (1 - z) n + z h'
 * Padded sequences: with lengths, step t of sequence b runs only when
 * t < lengths[b]; otherwise its state is carried unchanged, so the state at
 * the last step is the state at the sequence's last real step (and the
 * reverse direction starts at each sequence's own last step), as PyTorch's
 * packed sequences give. */
#ifndef ML_OPS_RNN_H
#define ML_OPS_RNN_H

#include <stdbool.h>

#include "../tensor/tensor.h"

typedef enum { ML_RNN_TANH, ML_RNN_RELU, ML_RNN_LSTM, ML_RNN_GRU, ML_RNN_NMODES } ml_rnn_mode;

/* Gates per hidden unit (G = gates * H) and states per step (S: 2 for LSTM's h and c). */
int ml_rnn_gates(ml_rnn_mode mode);
int ml_rnn_states(ml_rnn_mode mode);

/* One direction of one layer.
 *   gx      (T, B, G)  the input part, b_ih included (float32 or float64)
 *   state0  (S, B, H)  the initial state (h0; h0 and c0 for LSTM)
 *   w       (G, H) W_hh, or (G, H + 1) = [W_hh | b_hh]: the hidden bias as a last column
 *   lengths (B) int64 in 0..T, or NULL (every sequence has T steps)
 * Returns the states, (S, T + 1, B, H): forward, index 0 is state0 and
 * t + 1 the state after step t; reverse (steps T-1 down to 0), index T is
 * state0 and t the state after step t. Records its backward (inputs gx,
 * state0, w). NULL with ml_error set on bad shapes. */
ml_tensor *ml_rnn_scan(ml_rnn_mode mode, bool reverse, ml_tensor *gx, ml_tensor *state0, ml_tensor *w,
                       const int64_t *lengths);

#endif
