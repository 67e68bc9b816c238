package dev.asyncdiff.scheduler.async;

import dev.asyncdiff.api.Device;
import dev.asyncdiff.spi.Communicator;
import dev.asyncdiff.spi.CommunicatorProvider;
import java.util.List;

/** The {@code inprocess} communicator: ranks as threads of this JVM, tensors handed over without copying. */
public final class InProcessCommunicatorProvider implements CommunicatorProvider {
    static final String NAME = "inprocess";

    @Override
    public String name() {
        return NAME;
    }

    @Override
    public Communicator create(List<Device> devices) {
        return new InProcessCommunicator(devices);
    }
}
