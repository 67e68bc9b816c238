package dev.asyncdiff.scheduler.async;

import dev.asyncdiff.api.Device;
import dev.asyncdiff.api.Tensor;
import dev.asyncdiff.spi.Communicator;
import dev.asyncdiff.spi.CommunicatorAbortedException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;

/**
 * The {@code inprocess} communicator: ranks are worker threads of this JVM sharing host memory, so a
 * message is the sender's tensor itself and a receiver gets a view of it — nothing is copied. A tensor
 * in device memory that crosses to a rank on another device is copied through the host, explicitly.
 *
 * <p>Waits are not interruptible (a receiver's sender is always scheduled, or has failed and aborted
 * the generation); {@link #abort} and {@link #close()} wake them. Thread-safe.
 */
public final class InProcessCommunicator implements Communicator {
    private final List<Device> devices;
    private final ReentrantLock lock = new ReentrantLock();
    private final Condition changed = lock.newCondition();
    private final Map<String, Tensor> mailbox = new HashMap<>();
    private final Map<String, Gather> gathers = new HashMap<>();
    private Throwable aborted;
    private boolean closed;

    /** A communicator over ranks {@code 0 … devices.size() − 1}. */
    public InProcessCommunicator(List<Device> devices) {
        if (devices == null || devices.isEmpty()) {
            throw new IllegalArgumentException("a communicator needs at least one rank");
        }
        this.devices = List.copyOf(devices);
    }

    private static final class Gather {
        final Tensor[] parts;
        final List<List<Tensor>> results = new ArrayList<>();
        int left;

        Gather(int size) {
            parts = new Tensor[size];
            left = size;
        }
    }

    @Override
    public String name() {
        return InProcessCommunicatorProvider.NAME;
    }

    @Override
    public int size() {
        return devices.size();
    }

    @Override
    public Device device(int rank) {
        checkRank(rank, "rank");
        return devices.get(rank);
    }

    @Override
    public void send(int from, int to, String tag, Tensor tensor) {
        checkRank(from, "sender");
        checkRank(to, "receiver");
        if (tensor == null) {
            throw new IllegalArgumentException("cannot send a null tensor under '" + tag + "'");
        }
        String key = key(from, to, tag);
        lock.lock();
        try {
            ensureOpen();
            if (mailbox.putIfAbsent(key, tensor) != null) {
                throw new IllegalArgumentException("a message " + key + " is already pending");
            }
            changed.signalAll();
        } finally {
            lock.unlock();
        }
    }

    @Override
    public Tensor recv(int from, int to, String tag) {
        checkRank(from, "sender");
        checkRank(to, "receiver");
        String key = key(from, to, tag);
        Tensor sent;
        lock.lock();
        try {
            while (true) {
                ensureOpen();
                if (aborted != null) {
                    throw new CommunicatorAbortedException("receive of " + key + " aborted: " + aborted, aborted);
                }
                sent = mailbox.remove(key);
                if (sent != null) {
                    break;
                }
                changed.awaitUninterruptibly();
            }
        } finally {
            lock.unlock();
        }
        return deliver(sent, to);
    }

    @Override
    public List<Tensor> allGather(int rank, List<Integer> group, String tag, Tensor tensor) {
        int position = group.indexOf(rank);
        if (position < 0) {
            throw new IllegalArgumentException("rank " + rank + " is not in the all-gather group " + group);
        }
        group.forEach(r -> checkRank(r, "group member"));
        String key = "gather " + group + " '" + tag + "'";
        lock.lock();
        try {
            ensureOpen();
            Gather gather = gathers.computeIfAbsent(key, k -> new Gather(group.size()));
            if (gather.parts[position] != null) {
                throw new IllegalArgumentException("rank " + rank + " already contributed to " + key);
            }
            gather.parts[position] = tensor;
            if (complete(gather)) {
                // Views for every participant before any returns: a contributor may close its tensor
                // as soon as its own call is over.
                for (int member = 0; member < group.size(); member++) {
                    List<Tensor> views = new ArrayList<>();
                    for (Tensor part : gather.parts) {
                        views.add(deliver(part, group.get(member)));
                    }
                    gather.results.add(views);
                }
            }
            changed.signalAll();
            while (gather.results.isEmpty()) {
                if (aborted != null) {
                    throw new CommunicatorAbortedException(key + " aborted: " + aborted, aborted);
                }
                changed.awaitUninterruptibly();
                ensureOpen();
            }
            if (--gather.left == 0) {
                gathers.remove(key);
            }
            return gather.results.get(position);
        } finally {
            lock.unlock();
        }
    }

    private static boolean complete(Gather gather) {
        for (Tensor part : gather.parts) {
            if (part == null) {
                return false;
            }
        }
        return true;
    }

    /**
     * A view where the receiver can read the sender's memory, else a device-to-device copy onto the
     * receiver's device where the storage can make one (GPU peer copies), else a host copy.
     */
    private Tensor deliver(Tensor sent, int to) {
        if (sent.isHostResident() || sent.device().equals(devices.get(to))) {
            return sent.view();
        }
        return sent.copyToDevice(devices.get(to)).orElseGet(sent::toHost);
    }

    @Override
    public void abort(Throwable cause) {
        lock.lock();
        try {
            if (aborted == null) {
                aborted = cause;
            }
            changed.signalAll();
        } finally {
            lock.unlock();
        }
    }

    @Override
    public void reset() {
        lock.lock();
        try {
            mailbox.clear();
            gathers.clear();
            aborted = null;
        } finally {
            lock.unlock();
        }
    }

    @Override
    public void close() {
        lock.lock();
        try {
            closed = true;
            mailbox.clear();
            gathers.clear();
            changed.signalAll();
        } finally {
            lock.unlock();
        }
    }

    private void ensureOpen() {
        if (closed) {
            throw new IllegalStateException("InProcessCommunicator over " + devices + " is closed");
        }
    }

    private void checkRank(int rank, String what) {
        if (rank < 0 || rank >= devices.size()) {
            throw new IllegalArgumentException(what + " rank must be in [0, " + devices.size() + "), was " + rank);
        }
    }

    private static String key(int from, int to, String tag) {
        return from + "->" + to + " '" + tag + "'";
    }

    @Override
    public String toString() {
        return "InProcessCommunicator" + devices;
    }
}
