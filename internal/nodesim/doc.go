// Package nodesim simulates whole Mass nodes: the real driver (package
// node) and ledger, the real key-value application, the in-memory store
// and epoch log with their crash models, over a simulated network, in
// virtual time, one thread, one seed for everything.
//
// Where package sim attacks the consensus core with Byzantine nodes, this
// package attacks everything above it with the faults an operator meets:
// power cuts between events and inside a flush (before or after a write
// lands, in the log, among the sends), long outages that leave a node far
// behind, pauses (SIGSTOP), partitions that heal, node-set changes decided
// by transactions (in organization runs, by a proposal voted and executed),
// and a node that lies about its certified height and never answers a
// request for blocks. Then the faults stop, the network turns fair,
// and every node must converge. The checkers (see watcher) look only at
// what crosses the network and what the nodes report.
//
// A failing run prints the command that reproduces it.
package nodesim
