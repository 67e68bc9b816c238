package dev.asyncdiff.spi;

import dev.asyncdiff.api.Device;
import java.util.List;

/** Discovers a {@link Communicator}: {@code inprocess} (threads of this JVM), later gRPC or NCCL. */
public interface CommunicatorProvider extends Provider {
    /**
     * Connects ranks {@code 0 … devices.size() − 1}, rank r on {@code devices.get(r)}; the caller closes it.
     *
     * @throws IllegalArgumentException when the devices cannot be reached by this communicator
     */
    Communicator create(List<Device> devices);
}
