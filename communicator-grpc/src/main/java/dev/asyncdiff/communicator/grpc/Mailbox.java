package dev.asyncdiff.communicator.grpc;

import dev.asyncdiff.api.Tensor;
import dev.asyncdiff.spi.CommunicatorAbortedException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;

/**
 * The tensors sent to this process's rank, by generation, sender and tag. A message of a later generation
 * than the current one (a peer that has already started it) waits for it; older ones are dropped. Thread-safe.
 */
final class Mailbox {
    private record Key(long generation, int from, String tag) {
    }

    private final ReentrantLock lock = new ReentrantLock();
    private final Condition changed = lock.newCondition();
    private final Map<Key, Tensor> messages = new HashMap<>();
    private long generation;
    private Throwable aborted;
    private boolean closed;

    void put(long messageGeneration, int from, String tag, Tensor tensor) {
        lock.lock();
        try {
            if (closed || messageGeneration < generation) {
                tensor.close();
                return;
            }
            Tensor old = messages.put(new Key(messageGeneration, from, tag), tensor);
            if (old != null) {
                old.close();
            }
            changed.signalAll();
        } finally {
            lock.unlock();
        }
    }

    /** Waits for the current generation's message from {@code from} under {@code tag}; the caller closes it. */
    Tensor take(int from, String tag) {
        lock.lock();
        try {
            Key key = new Key(generation, from, tag);
            while (true) {
                if (closed) {
                    throw new IllegalStateException("the grpc communicator is closed");
                }
                if (aborted != null) {
                    throw new CommunicatorAbortedException("receiving '" + tag + "' from rank " + from
                            + " was aborted: " + aborted.getMessage(), aborted);
                }
                Tensor tensor = messages.remove(key);
                if (tensor != null) {
                    return tensor;
                }
                changed.awaitUninterruptibly();
            }
        } finally {
            lock.unlock();
        }
    }

    /** Fails the current generation's waiting and later takes with {@code cause}; the first cause wins. */
    void abort(Throwable cause) {
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

    /** Starts {@code next}: clears an abort and drops what older generations left. */
    void startGeneration(long next) {
        List<Tensor> dropped = new ArrayList<>();
        lock.lock();
        try {
            generation = next;
            aborted = null;
            for (Iterator<Map.Entry<Key, Tensor>> it = messages.entrySet().iterator(); it.hasNext(); ) {
                Map.Entry<Key, Tensor> entry = it.next();
                if (entry.getKey().generation() < next) {
                    dropped.add(entry.getValue());
                    it.remove();
                }
            }
            changed.signalAll();
        } finally {
            lock.unlock();
        }
        dropped.forEach(Tensor::close);
    }

    long generation() {
        lock.lock();
        try {
            return generation;
        } finally {
            lock.unlock();
        }
    }

    void close() {
        List<Tensor> dropped;
        lock.lock();
        try {
            closed = true;
            dropped = new ArrayList<>(messages.values());
            messages.clear();
            changed.signalAll();
        } finally {
            lock.unlock();
        }
        dropped.forEach(Tensor::close);
    }
}
