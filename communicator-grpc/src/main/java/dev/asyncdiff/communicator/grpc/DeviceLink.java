package dev.asyncdiff.communicator.grpc;

import dev.asyncdiff.api.DType;
import dev.asyncdiff.api.Device;
import dev.asyncdiff.api.Tensor;
import java.util.List;

/**
 * A second path between the ranks of a grpc world for tensors in device memory (NCCL between GPUs). The
 * tensor's header — generation, tag, dtype, shape — still goes on the sender's gRPC stream to that rank, so it
 * is matched to its receive by tag as every other tensor is; its bytes go over the link, in the order of the
 * headers from that sender. One process holds one link, opened by every rank at once after the rendezvous.
 */
public interface DeviceLink extends AutoCloseable {
    /** Whether {@code tensor} goes over this link to a rank on device {@code to}; else its bytes go over gRPC. */
    boolean carries(Tensor tensor, Device to);

    /**
     * Sends the bytes of {@code tensor} to rank {@code to}; returns when the tensor's memory may change again.
     * Called once per header, in header order for each receiver.
     */
    void send(int to, Tensor tensor);

    /** Receives the next tensor rank {@code from} sends over the link into new memory of this rank's device. */
    Tensor receive(int from, DType dtype, long[] shape);

    /** Releases the link; sends and receives waiting on it fail. */
    @Override
    void close();

    /** Makes a world's link: rank 0 draws its id, the rendezvous hands it to every rank, every rank opens it. */
    interface Factory {
        /** The link's name, e.g. {@code nccl}: the communicator's name, and what a worker must be started with. */
        String name();

        /** A new id for a world (rank 0, before the rendezvous). */
        byte[] newId();

        /**
         * Opens rank {@code rank}'s end of the link of the world with {@code devices} (one per rank) and {@code id};
         * returns once every rank has opened its end.
         *
         * @throws IllegalArgumentException when a rank's device cannot be on this link
         */
        DeviceLink open(int rank, List<Device> devices, byte[] id);
    }
}
