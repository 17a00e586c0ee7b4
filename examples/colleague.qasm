// A colleague's 3-qubit circuit: one fixed circuit (`input float[64]` are its parameters).
//   bpdiag lie --circuit examples/colleague.qasm --cost global
OPENQASM 3.0;
include "stdgates.inc";
input float[64] a0;
input float[64] a1;
input float[64] a2;
input float[64] b0;
input float[64] b1;
input float[64] b2;
input float[64] c0;
input float[64] c1;
input float[64] c2;
qubit[3] q;
ry(a0) q[0];
ry(a1) q[1];
ry(a2) q[2];
cx q[0], q[1];
cx q[1], q[2];
ry(b0) q[0];
ry(b1) q[1];
ry(b2) q[2];
rz(c0) q[0];
rz(c1) q[1];
rz(c2) q[2];
