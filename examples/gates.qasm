// A 3-qubit circuit in the gates OpenQASM 3 users write (one fixed circuit): controlled
// rotations and phases, a controlled Hadamard, a SWAP and a Toffoli (Qiskit decomposes the
// Toffoli; every other gate is kept as itself or as Pauli rotations sharing its angle).
//   bpdiag lie --circuit examples/gates.qasm --cost 'X0 X1 + 0.5 Z2'
OPENQASM 3.0;
include "stdgates.inc";
input float[64] t0;
input float[64] t1;
input float[64] t2;
input float[64] phi;
qubit[3] q;
h q[0];
ry(t0) q[1];
u3(t1, phi, 0.25) q[2];
crx(t2) q[0], q[1];
cp(2 * phi) q[1], q[2];
ch q[2], q[0];
swap q[0], q[2];
sx q[1];
t q[2];
ccx q[0], q[1], q[2];
cry(t0 - t1) q[2], q[1];
