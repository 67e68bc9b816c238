package dev.asyncdiff.tck;

import java.lang.management.BufferPoolMXBean;
import java.lang.management.ManagementFactory;

/** The JVM's direct (off-heap) buffer memory, measured after the garbage collector has freed what nothing holds. */
final class NativeMemory {
    private static final int GC_ROUNDS = 4;

    private NativeMemory() {
    }

    /**
     * Bytes of direct buffers still in use after a few collections (direct buffers are freed by a cleaner
     * once unreachable, so the reading settles only after the collector and the cleaner have run).
     */
    static long directBytesInUse() {
        long previous = -1;
        long current = directBytes();
        for (int round = 0; round < GC_ROUNDS && current != previous; round++) {
            System.gc();
            try {
                Thread.sleep(50);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                break;
            }
            previous = current;
            current = directBytes();
        }
        return current;
    }

    private static long directBytes() {
        return ManagementFactory.getPlatformMXBeans(BufferPoolMXBean.class).stream()
                .filter(pool -> pool.getName().equals("direct")).mapToLong(BufferPoolMXBean::getMemoryUsed).sum();
    }
}
