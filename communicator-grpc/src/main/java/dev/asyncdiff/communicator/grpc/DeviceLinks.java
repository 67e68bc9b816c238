package dev.asyncdiff.communicator.grpc;

import dev.asyncdiff.api.AsyncDiffException;
import dev.asyncdiff.api.Device;
import dev.asyncdiff.communicator.grpc.proto.World;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/** Opening a world's device link, which every rank does at once after the rendezvous. */
final class DeviceLinks {
    private DeviceLinks() {
    }

    /**
     * Rank {@code rank}'s end of {@code world}'s link. Opening waits for every rank, so it is bounded: a rank that
     * died after the rendezvous fails this one within {@code timeout}, naming the link.
     */
    static DeviceLink open(DeviceLink.Factory factory, int rank, World world, Duration timeout) {
        byte[] id = world.getDeviceLinkId().toByteArray();
        List<Device> devices = world.getPeersList().stream().map(p -> Device.parse(p.getDevice())).toList();
        CompletableFuture<DeviceLink> opening = new CompletableFuture<>();
        Thread thread = new Thread(() -> {
            try {
                opening.complete(factory.open(rank, devices, id));
            } catch (Throwable t) {
                opening.completeExceptionally(t);
            }
        }, "asyncdiff-" + factory.name() + "-open");
        thread.setDaemon(true);
        thread.start();
        try {
            return opening.get(timeout.toMillis(), TimeUnit.MILLISECONDS);
        } catch (TimeoutException e) {
            throw new AsyncDiffException("rank " + rank + " could not open the " + factory.name() + " link of "
                    + devices.size() + " ranks within " + timeout.toSeconds() + " s (ASYNCDIFF_JOIN_TIMEOUT): a rank "
                    + "that joined has not opened its end");
        } catch (ExecutionException e) {
            Throwable cause = e.getCause();
            if (cause instanceof RuntimeException runtime) {
                throw runtime;
            }
            throw new AsyncDiffException("rank " + rank + " could not open the " + factory.name() + " link: " + cause,
                    cause);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new AsyncDiffException("interrupted while opening the " + factory.name() + " link", e);
        }
    }
}
