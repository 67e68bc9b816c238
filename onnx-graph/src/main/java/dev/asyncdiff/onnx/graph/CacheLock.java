package dev.asyncdiff.onnx.graph;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.channels.ClosedByInterruptException;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Comparator;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CancellationException;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.locks.ReentrantLock;
import java.util.stream.Stream;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * An exclusive lock on one cache entry, held by one thread of one process at a time: a
 * {@link FileLock} on {@code <entry>.lock} beside the entry (processes) and a lock per entry within
 * this JVM (threads, which file locks do not separate).
 *
 * <p>Why: several runs may share a cache. Whoever writes an entry holds its lock, builds it in a
 * temporary folder and renames it into place, so a second writer of the same entry waits, then finds
 * the entry complete and reuses it; readers that find a complete entry need no lock, because a
 * complete, valid entry is never replaced. The operating system releases the lock of a process that
 * dies, so no lock outlives its writer; the empty lock file stays (deleting it would race with a
 * process that just opened it).
 *
 * <p>Ownership: the caller closes it, on the thread that acquired it; {@link #close()} is idempotent.
 */
public final class CacheLock implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(CacheLock.class);
    private static final Map<Path, ReentrantLock> IN_PROCESS = new ConcurrentHashMap<>();
    private static final String TEMPORARY = ".tmp-";

    private final Path lockFile;
    private final ReentrantLock threadLock;
    private final FileChannel channel;
    private final FileLock fileLock;
    private boolean closed;

    private CacheLock(Path lockFile, ReentrantLock threadLock, FileChannel channel, FileLock fileLock) {
        this.lockFile = lockFile;
        this.threadLock = threadLock;
        this.channel = channel;
        this.fileLock = fileLock;
    }

    /** The lock file of {@code entry}: {@code <entry>.lock} in the same folder. */
    public static Path lockFileOf(Path entry) {
        return entry.resolveSibling(entry.getFileName() + ".lock");
    }

    /**
     * Locks {@code entry}, waiting (with an INFO line saying so) while another process or thread holds it.
     *
     * @param what what the entry is, for messages (e.g. {@code "split"})
     * @throws UncheckedIOException  naming the lock file when it cannot be created or locked
     * @throws CancellationException when the thread is interrupted while it waits
     */
    public static CacheLock acquire(Path entry, String what) {
        Path lockFile = lockFileOf(entry.toAbsolutePath().normalize());
        ReentrantLock threadLock = IN_PROCESS.computeIfAbsent(lockFile, key -> new ReentrantLock());
        if (!threadLock.tryLock()) {
            LOG.info("waiting for another thread to finish writing the {} {}", what, entry);
            try {
                threadLock.lockInterruptibly();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new CancellationException("interrupted while waiting for the lock on " + lockFile);
            }
        }
        if (threadLock.getHoldCount() > 1) {
            return new CacheLock(lockFile, threadLock, null, null);   // this thread already holds the file lock
        }
        FileChannel channel = null;
        try {
            Files.createDirectories(lockFile.getParent());
            channel = FileChannel.open(lockFile, StandardOpenOption.CREATE, StandardOpenOption.WRITE);
            FileLock fileLock = channel.tryLock();
            if (fileLock == null) {
                LOG.info("waiting for another process to finish writing the {} {} (lock {})", what, entry, lockFile);
                fileLock = channel.lock();
            }
            return new CacheLock(lockFile, threadLock, channel, fileLock);
        } catch (ClosedByInterruptException e) {
            threadLock.unlock();
            Thread.currentThread().interrupt();
            throw new CancellationException("interrupted while waiting for the lock on " + lockFile);
        } catch (IOException | RuntimeException e) {
            closeQuietly(channel);
            threadLock.unlock();
            throw new UncheckedIOException("cannot lock " + lockFile + " (the lock of the cached " + what + " "
                    + entry + "): " + e, e instanceof IOException io ? io : new IOException(e));
        }
    }

    /**
     * A fresh temporary name for building {@code entry} beside it:
     * {@code <prefix><entry name>.tmp-<pid>-<nanos>}, so {@link #removeAbandoned} can tell whose it is.
     */
    public static Path temporarySibling(Path entry, String prefix) {
        return entry.resolveSibling(prefix + entry.getFileName() + TEMPORARY + ProcessHandle.current().pid() + "-"
                + Long.toHexString(System.nanoTime()));
    }

    /**
     * Deletes the temporary folders of {@code entry} (named by {@link #temporarySibling}) whose process has
     * exited: what a run killed while it wrote leaves behind. Folders of live processes are kept.
     *
     * @return how many were removed
     */
    public static int removeAbandoned(Path entry, String prefix) {
        Path parent = entry.toAbsolutePath().normalize().getParent();
        if (parent == null || !Files.isDirectory(parent)) {
            return 0;
        }
        String start = prefix + entry.getFileName() + TEMPORARY;
        int removed = 0;
        try (DirectoryStream<Path> siblings = Files.newDirectoryStream(parent, path ->
                path.getFileName().toString().startsWith(start))) {
            for (Path sibling : siblings) {
                Optional<Long> pid = pidOf(sibling.getFileName().toString().substring(start.length()));
                boolean alive = pid.flatMap(ProcessHandle::of).map(ProcessHandle::isAlive).orElse(false);
                if (pid.isPresent() && !alive) {
                    LOG.info("removing {}, left by process {} that stopped while it wrote", sibling, pid.get());
                    deleteTree(sibling);
                    removed++;
                }
            }
        } catch (IOException | UncheckedIOException e) {
            LOG.warn("could not remove abandoned temporary folders of {}: {}", entry, e.toString());
        }
        return removed;
    }

    private static Optional<Long> pidOf(String suffix) {
        int dash = suffix.indexOf('-');
        try {
            return Optional.of(Long.parseLong(dash < 0 ? suffix : suffix.substring(0, dash)));
        } catch (NumberFormatException e) {
            return Optional.empty();
        }
    }

    /**
     * Deletes {@code root} and everything under it; nothing happens when it is absent.
     *
     * @throws UncheckedIOException naming the path that could not be removed
     */
    public static void deleteTree(Path root) {
        if (!Files.exists(root)) {
            return;
        }
        try (Stream<Path> paths = Files.walk(root)) {
            for (Path path : paths.sorted(Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(path);
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot remove " + root + ": " + e, e);
        }
    }

    /** Releases the lock; idempotent. */
    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        try {
            if (fileLock != null) {
                fileLock.release();
            }
        } catch (IOException e) {
            LOG.warn("could not release the lock {}: {}", lockFile, e.toString());
        } finally {
            closeQuietly(channel);
            threadLock.unlock();
        }
    }

    private static void closeQuietly(FileChannel channel) {
        if (channel == null) {
            return;
        }
        try {
            channel.close();
        } catch (IOException e) {
            LOG.debug("could not close {}: {}", channel, e.toString());
        }
    }
}
