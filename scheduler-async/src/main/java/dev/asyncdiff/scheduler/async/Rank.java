package dev.asyncdiff.scheduler.async;

import dev.asyncdiff.api.Device;
import dev.asyncdiff.spi.Backend;
import dev.asyncdiff.spi.Communicator;
import dev.asyncdiff.spi.RankTask;
import java.util.concurrent.CompletableFuture;

/**
 * A rank as the loop sees it: where its tasks run, in order — a worker thread of this JVM or, through
 * the communicator, another process. Closing a rank closes its components.
 */
interface Rank extends AutoCloseable {
    int index();

    Device device();

    CompletableFuture<RankTask.Done> submit(RankTask task);

    /** The worker thread of a rank in this process; null for a remote rank. */
    DeviceWorker worker();

    @Override
    void close();

    /** Rank {@code index} of {@code comm}: a new worker thread when it is local, else the remote rank. */
    static Rank of(Communicator comm, int index, Backend backend) {
        Device device = comm.device(index);
        if (!comm.isLocal(index)) {
            return new Remote(comm, index, device);
        }
        DeviceWorker worker = new DeviceWorker(device);
        return new Local(worker, worker.own(new RankRuntime(index, device, backend, comm, worker.pool())));
    }

    /** A rank on a worker thread of this JVM. */
    record Local(DeviceWorker worker, RankRuntime runtime) implements Rank {
        @Override
        public int index() {
            return runtime.rank();
        }

        @Override
        public Device device() {
            return worker.device();
        }

        @Override
        public CompletableFuture<RankTask.Done> submit(RankTask task) {
            return worker.submit(() -> runtime.execute(task));
        }

        /** Stops the worker, which then closes the runtime it owns and with it the components. */
        @Override
        public void close() {
            worker.close();
        }

        @Override
        public String toString() {
            return device().toString();
        }
    }

    /** A rank in another process, reached through the communicator. */
    record Remote(Communicator comm, int index, Device device) implements Rank {
        @Override
        public CompletableFuture<RankTask.Done> submit(RankTask task) {
            return comm.submit(index, task);
        }

        @Override
        public DeviceWorker worker() {
            return null;
        }

        /** Nothing to close here: the strategy unloads its components, the process stays up. */
        @Override
        public void close() {
        }

        @Override
        public String toString() {
            return "rank " + index + " on " + device + " (" + comm.name() + ")";
        }
    }
}
