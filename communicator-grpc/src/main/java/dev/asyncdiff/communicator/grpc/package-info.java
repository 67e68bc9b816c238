/**
 * The {@code grpc} communicator: ranks in other processes and on other hosts. Rank 0 (the process that
 * generates) holds a rendezvous on {@code MASTER_ADDR:MASTER_PORT}; every other rank is a
 * {@link dev.asyncdiff.communicator.grpc.GrpcWorker} ({@code asyncdiff worker}) that joins it, then does the
 * {@link dev.asyncdiff.spi.RankTask}s rank 0 streams to it with a
 * {@link dev.asyncdiff.scheduler.async.RankRuntime}. Tensors move point to point between the ranks that produce
 * and read them, on one long-lived stream per pair, as raw bytes; the protocol is {@code rank.proto}.
 */
package dev.asyncdiff.communicator.grpc;
