#!/usr/bin/python3
"""Reference values for tests/lua/test_rnn.lua, from PyTorch.

    scripts/gen_rnn_fixtures.py        writes tests/fixtures/nn/rnn.lua

Each case: a torch recurrent layer or cell (float64 unless stated) with its
own initial weights, stored under PyTorch's names (moonlab uses the same),
an input, the initial state when the case has one, the lengths of a padded
batch (packed in torch with enforce_sorted=False), the outputs (output,
h_n, c_n), fixed weights w_* and the gradients of
sum(output * w_y) + sum(h_n * w_h) + sum(c_n * w_c) with respect to the
input, the initial state and every parameter. `ctor` is the moonlab
expression that builds the same layer. Numbers are Lua literals (%.17g).

Made with Debian's python3-torch; the torch version is recorded in the file.
"""
import os

import torch
import torch.nn as tnn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

VERSION = 1
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "tests", "fixtures", "nn", "rnn.lua")


def lua_tensor(t):
    t = t.detach()
    vals = ", ".join("%.17g" % v for v in t.reshape(-1).tolist())
    shape = ", ".join(str(s) for s in t.shape)
    return "{shape = {%s}, dtype = %r, data = {%s}}" % (shape, str(t.dtype).replace("torch.", ""), vals)


def case(name, ctor, mod, x, state=None, lengths=None, batch_first=False, cell=False):
    x = x.clone().requires_grad_(True)
    st = None
    if state is not None:
        st = tuple(s.clone().requires_grad_(True) for s in state)
    if cell:
        out = mod(x, st if st is None or len(st) > 1 else st[0])
        if isinstance(out, tuple):
            y, outs = None, {"h": out[0], "c": out[1]}
        else:
            y, outs = None, {"h": out}
    else:
        inp = x
        if lengths is not None:
            inp = pack_padded_sequence(x, torch.tensor(lengths), batch_first=batch_first, enforce_sorted=False)
        o, hn = mod(inp, None if st is None else (st if len(st) > 1 else st[0]))
        if lengths is not None:
            o, _ = pad_packed_sequence(o, batch_first=batch_first, total_length=x.shape[1 if batch_first else 0])
        outs = {"y": o}
        if isinstance(hn, tuple):
            outs["h"], outs["c"] = hn
        else:
            outs["h"] = hn
    g = torch.Generator().manual_seed(len(name) * 7919)
    ws = {k: torch.randn(v.shape, generator=g, dtype=v.dtype) for k, v in outs.items()}
    loss = sum((v * ws[k]).sum() for k, v in outs.items())
    loss.backward()
    lines = ["  {", "    name = %r," % name, "    ctor = %r," % ctor, "    cell = %s," % ("true" if cell else "false")]
    lines.append("    params = {")
    for pn, p in mod.named_parameters():
        lines.append("      %s = %s," % (pn, lua_tensor(p)))
    lines.append("    },")
    lines.append("    x = %s," % lua_tensor(x))
    if st is not None:
        lines.append("    state = {%s}," % ", ".join(lua_tensor(s) for s in st))
    if lengths is not None:
        lines.append("    lengths = {%s}," % ", ".join(str(v) for v in lengths))
    for k, v in outs.items():
        lines.append("    out_%s = %s," % (k, lua_tensor(v)))
        lines.append("    w_%s = %s," % (k, lua_tensor(ws[k])))
    lines.append("    grads = {")
    lines.append("      x = %s," % lua_tensor(x.grad))
    if st is not None:
        lines.append("      state = {%s}," % ", ".join(lua_tensor(s.grad) for s in st))
    for pn, p in mod.named_parameters():
        lines.append("      %s = %s," % (pn, lua_tensor(p.grad)))
    lines.append("    },")
    lines.append("  },")
    return "\n".join(lines)


def main():
    torch.manual_seed(10)
    F64 = torch.float64
    rn = lambda *s, dt=F64: torch.randn(*s, dtype=dt)
    cases = []
    m = tnn.RNN(5, 7).double()
    cases.append(case("rnn_tanh", "nn.RNN(5, 7, {dtype = 'float64'})", m, rn(4, 3, 5)))
    m = tnn.RNN(5, 6, num_layers=2, nonlinearity="relu", bias=False).double()
    cases.append(case("rnn_relu_2layers_nobias", "nn.RNN(5, 6, {num_layers = 2, nonlinearity = 'relu', bias = false, dtype = 'float64'})",
                      m, rn(5, 2, 5), state=(rn(2, 2, 6),)))
    m = tnn.LSTM(5, 7).double()
    cases.append(case("lstm", "nn.LSTM(5, 7, {dtype = 'float64'})", m, rn(6, 3, 5)))
    m = tnn.LSTM(5, 7, num_layers=2, bidirectional=True, batch_first=True).double()
    cases.append(case("lstm_2layers_bidir_batch_first_state",
                      "nn.LSTM(5, 7, {num_layers = 2, bidirectional = true, batch_first = true, dtype = 'float64'})",
                      m, rn(3, 5, 5), state=(rn(4, 3, 7), rn(4, 3, 7))))
    m = tnn.GRU(3, 6, bidirectional=True).double()
    cases.append(case("gru_bidir_state", "nn.GRU(3, 6, {bidirectional = true, dtype = 'float64'})", m, rn(5, 4, 3),
                      state=(rn(2, 4, 6),)))
    m = tnn.LSTM(4, 5, num_layers=2, bidirectional=True, batch_first=True).double()
    cases.append(case("lstm_lengths_bidir_2layers",
                      "nn.LSTM(4, 5, {num_layers = 2, bidirectional = true, batch_first = true, dtype = 'float64'})",
                      m, rn(4, 6, 4), lengths=[3, 6, 1, 4], batch_first=True))
    m = tnn.GRU(4, 5).double()
    cases.append(case("gru_lengths_state", "nn.GRU(4, 5, {dtype = 'float64'})", m, rn(5, 3, 4), state=(rn(1, 3, 5),),
                      lengths=[2, 5, 3]))
    m = tnn.RNN(3, 4, bidirectional=True).double()
    cases.append(case("rnn_lengths_bidir", "nn.RNN(3, 4, {bidirectional = true, dtype = 'float64'})", m, rn(4, 3, 3),
                      lengths=[4, 1, 2]))
    m = tnn.LSTM(8, 16, num_layers=2)
    cases.append(case("lstm_float32", "nn.LSTM(8, 16, {num_layers = 2})", m, rn(7, 5, 8, dt=torch.float32)))
    m = tnn.RNNCell(5, 7, nonlinearity="relu").double()
    cases.append(case("rnn_cell_relu", "nn.RNNCell(5, 7, {nonlinearity = 'relu', dtype = 'float64'})", m, rn(3, 5),
                      state=(rn(3, 7),), cell=True))
    m = tnn.LSTMCell(5, 7).double()
    cases.append(case("lstm_cell", "nn.LSTMCell(5, 7, {dtype = 'float64'})", m, rn(3, 5), state=(rn(3, 7), rn(3, 7)),
                      cell=True))
    m = tnn.GRUCell(5, 7).double()
    cases.append(case("gru_cell", "nn.GRUCell(5, 7, {dtype = 'float64'})", m, rn(3, 5), state=(rn(3, 7),), cell=True))
    m = tnn.GRUCell(4, 3, bias=False).double()
    cases.append(case("gru_cell_nobias_nostate", "nn.GRUCell(4, 3, {bias = false, dtype = 'float64'})", m, rn(2, 4),
                      cell=True))
    os.makedirs(os.path.dirname(OUT), exist_ok=True)
    with open(OUT, "w") as f:
        f.write("-- generated by scripts/gen_rnn_fixtures.py (version %d, torch %s); do not edit\n" % (VERSION, torch.__version__))
        f.write("return {\n  version = %d,\n  torch = %r,\n  cases = {\n" % (VERSION, torch.__version__))
        f.write("\n".join(cases))
        f.write("\n  },\n}\n")


if __name__ == "__main__":
    main()
