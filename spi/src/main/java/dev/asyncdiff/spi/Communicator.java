package dev.asyncdiff.spi;

import dev.asyncdiff.api.Device;
import dev.asyncdiff.api.Tensor;
import java.util.List;
import java.util.concurrent.CompletableFuture;

/**
 * How ranks exchange tensors: the only path by which the denoising loop moves a tensor from one rank
 * (a worker with a device) to another. Rank 0 runs the adapter and the loop; any rank may be a thread
 * of this JVM or, with another implementation, a process on another host.
 *
 * <p>Messages are addressed by (sender, receiver, tag); a tag names one tensor of one round (the
 * engine puts the step, the consumer and the input name in it), so every message is received once.
 * Collectives are called by every participant with the same tag.
 *
 * <p>Ownership: the sender keeps what it sends and must keep it unchanged until the receiver's use is
 * over (the schedule's double buffering guarantees it); the receiver closes what {@link #recv} and
 * {@link #allGather} return: a view of the sender's memory in process (no copy), a copy elsewhere.
 * Thread-safe: every rank calls from its own thread. {@link #close()} wakes every waiting call with
 * an {@link IllegalStateException} and is idempotent.
 */
public interface Communicator extends AutoCloseable {
    /** The provider name this communicator came from, e.g. {@code inprocess}. */
    String name();

    /** The number of ranks. */
    int size();

    /**
     * The device of {@code rank}.
     *
     * @throws IllegalArgumentException when the rank is outside [0, size)
     */
    Device device(int rank);

    /**
     * Sends {@code tensor} from rank {@code from} to rank {@code to} under {@code tag}, point to point;
     * returns without waiting for the receiver.
     *
     * @throws IllegalArgumentException when a rank is outside [0, size) or the tag is already pending
     */
    void send(int from, int to, String tag, Tensor tensor);

    /**
     * Waits for the tensor rank {@code from} sent to rank {@code to} under {@code tag}; the caller closes it.
     *
     * @throws CommunicatorAbortedException when the generation was aborted while waiting
     */
    Tensor recv(int from, int to, String tag);

    /**
     * Sends {@code tensor} from {@code root} to every rank of {@code to}, once per generation (the
     * conditioning); each receives it with {@link #recv}{@code (root, rank, tag)}.
     */
    default void broadcast(int root, List<Integer> to, String tag, Tensor tensor) {
        for (int rank : to) {
            send(root, rank, tag, tensor);
        }
    }

    /**
     * Contributes {@code tensor} as {@code rank}'s part of an all-gather over {@code group} and waits
     * for every part; returns them in group order (CFG-parallel gathers the branches' predictions).
     * The caller closes the returned tensors.
     *
     * @throws IllegalArgumentException     when {@code rank} is not in {@code group}
     * @throws CommunicatorAbortedException when the generation was aborted while waiting
     */
    List<Tensor> allGather(int rank, List<Integer> group, String tag, Tensor tensor);

    /**
     * Whether {@code rank} runs in this process. The engine runs a local rank's tasks on its own worker
     * thread and {@linkplain #submit submits} a remote rank's through the communicator.
     */
    default boolean isLocal(int rank) {
        return true;
    }

    /**
     * Has rank {@code rank}, in another process, run {@code task}; the future completes when it has, or
     * fails with an exception that names the rank, its host and the task when the task failed there, the
     * rank disconnected or it did not answer in time. Tasks to one rank run in submission order.
     *
     * @throws IllegalArgumentException when the rank runs in this process
     */
    default CompletableFuture<RankTask.Done> submit(int rank, RankTask task) {
        throw new IllegalArgumentException("rank " + rank + " runs in this process; " + name()
                + " has no remote ranks");
    }

    /**
     * The tensor bytes this process has sent to and received from other processes so far (0 in process):
     * what the transport moved, for benchmarks.
     */
    default long bytesTransferred() {
        return 0;
    }

    /**
     * Fails every waiting and later receive of the current generation with {@code cause}, so that a
     * failed rank cannot leave the others waiting forever.
     */
    void abort(Throwable cause);

    /**
     * Starts a new generation: forgets what is pending and clears an abort. Called by rank 0 between
     * generations, when no rank is sending or receiving.
     */
    void reset();

    @Override
    void close();
}
