package dev.asyncdiff.backend.tensorrt;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import dev.asyncdiff.onnx.graph.CacheLock;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.Locale;

/**
 * Serialized TensorRT engines on disk, one per (component, GPU model and compute capability, TensorRT
 * version, profile, builder settings): {@code <stem>.engine} with a {@code <stem>.json} record of what it
 * was built from and for, and its size and SHA-256. A lookup checks the record against the key and the
 * bytes against the record, so an engine copied from another GPU, built by another TensorRT or cut short
 * is reported {@link Lookup.Stale} (and rebuilt by the backend) instead of handed to TensorRT. Builds
 * of the same key by several processes are serialized by a {@link CacheLock}; files appear atomically.
 * Timing caches, one per GPU model and TensorRT version, live in the same folder.
 */
public final class EngineCache {
    private static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

    private final Path root;

    /** A cache in {@code root} (created on first store). */
    public EngineCache(Path root) {
        this.root = root;
    }

    /** What an engine was built for: TensorRT plans run only on the GPU model and version that built them. */
    public record Target(String gpu, String computeCapability, String tensorRtVersion) {
        String describe() {
            return gpu + " (compute capability " + computeCapability + ") with TensorRT " + tensorRtVersion;
        }
    }

    /** What an engine was built from. */
    public record Key(String componentSha256, String profile, String builder, Target target) {
        /** The file stem: a digest of every field. */
        public String stem() {
            return sha256((componentSha256 + "\n" + profile + "\n" + builder + "\n" + target.gpu() + "\n"
                    + target.computeCapability() + "\n" + target.tensorRtVersion()).getBytes(StandardCharsets.UTF_8))
                    .substring(0, 32);
        }
    }

    /** The record beside an engine. */
    public record Record(String componentSha256, String profile, String builder, String gpu,
                         String computeCapability, String tensorRtVersion, long engineBytes, String engineSha256) {
    }

    /** The outcome of a lookup. */
    public sealed interface Lookup {
        /** A usable engine file. */
        record Hit(Path engine) implements Lookup {
        }

        /** No engine for the key. */
        record Miss() implements Lookup {
        }

        /** An engine is there but must not be used; {@code reason} says why. */
        record Stale(Path engine, String reason) implements Lookup {
        }
    }

    /** The engine file for {@code key}. */
    public Path engineFile(Key key) {
        return root.resolve(key.stem() + ".engine");
    }

    /** The lock that serializes building {@code key}. */
    public Path lockFile(Key key) {
        return root.resolve(key.stem() + ".lock");
    }

    /** Looks {@code key} up, checking the record and the bytes. */
    public Lookup lookup(Key key) {
        Path engine = engineFile(key);
        Path recordFile = recordFile(key);
        if (!Files.isRegularFile(engine) && !Files.isRegularFile(recordFile)) {
            return new Lookup.Miss();
        }
        if (!Files.isRegularFile(engine) || !Files.isRegularFile(recordFile)) {
            return new Lookup.Stale(engine, "only one of " + engine.getFileName() + " and " + recordFile.getFileName()
                    + " is there");
        }
        Record record;
        try {
            record = JSON.readValue(recordFile.toFile(), Record.class);
        } catch (IOException e) {
            return new Lookup.Stale(engine, "its record " + recordFile + " is unreadable: " + e.getMessage());
        }
        Target built = new Target(record.gpu(), record.computeCapability(), record.tensorRtVersion());
        if (!built.equals(key.target())) {
            return new Lookup.Stale(engine, "it was built for " + built.describe() + ", this is "
                    + key.target().describe());
        }
        if (!key.componentSha256().equals(record.componentSha256()) || !key.profile().equals(record.profile())
                || !key.builder().equals(record.builder())) {
            return new Lookup.Stale(engine, "it was built from another component, profile or builder setting");
        }
        try {
            long size = Files.size(engine);
            if (size != record.engineBytes()) {
                return new Lookup.Stale(engine, "it is " + size + " bytes, its record says " + record.engineBytes()
                        + " (cut short?)");
            }
            String digest = sha256(engine);
            if (!digest.equals(record.engineSha256())) {
                return new Lookup.Stale(engine, "its SHA-256 " + digest + " differs from its record's "
                        + record.engineSha256());
            }
        } catch (IOException e) {
            return new Lookup.Stale(engine, "it cannot be read: " + e.getMessage());
        }
        return new Lookup.Hit(engine);
    }

    /**
     * Stores the serialized engine {@code bytes} for {@code key}: the engine file, then its record, each
     * written beside and moved into place, so that a reader sees both or a miss.
     */
    public Path store(Key key, EngineBytes bytes) {
        Path engine = engineFile(key);
        try {
            Files.createDirectories(root);
            Path partial = Files.createTempFile(root, key.stem(), ".engine.partial");
            try {
                bytes.writeTo(partial);
                long size = Files.size(partial);
                String digest = sha256(partial);
                move(partial, engine);
                Record record = new Record(key.componentSha256(), key.profile(), key.builder(), key.target().gpu(),
                        key.target().computeCapability(), key.target().tensorRtVersion(), size, digest);
                Path recordPartial = Files.createTempFile(root, key.stem(), ".json.partial");
                JSON.writeValue(recordPartial.toFile(), record);
                move(recordPartial, recordFile(key));
            } finally {
                Files.deleteIfExists(partial);
            }
            return engine;
        } catch (IOException e) {
            throw new UncheckedIOException("cannot store a TensorRT engine in " + root + ": " + e.getMessage(), e);
        }
    }

    /** Removes the engine of {@code key} and its record (a stale entry before a rebuild). */
    public void evict(Key key) {
        try {
            Files.deleteIfExists(recordFile(key));
            Files.deleteIfExists(engineFile(key));
        } catch (IOException e) {
            throw new UncheckedIOException("cannot remove the stale TensorRT engine " + engineFile(key) + ": "
                    + e.getMessage(), e);
        }
    }

    /** The timing cache of {@code target}: one per GPU model and TensorRT version, shared by every build. */
    public Path timingCacheFile(Target target) {
        String name = (target.gpu() + "-sm" + target.computeCapability() + "-trt" + target.tensorRtVersion())
                .toLowerCase(Locale.ROOT).replaceAll("[^a-z0-9.]+", "_");
        return root.resolve("timing-" + name + ".cache");
    }

    /** Writes an engine's serialized bytes to a file. */
    @FunctionalInterface
    public interface EngineBytes {
        /** Writes every byte to {@code file}. */
        void writeTo(Path file) throws IOException;
    }

    private Path recordFile(Key key) {
        return root.resolve(key.stem() + ".json");
    }

    private static void move(Path from, Path to) throws IOException {
        try {
            Files.move(from, to, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } catch (AtomicMoveNotSupportedException e) {
            Files.move(from, to, StandardCopyOption.REPLACE_EXISTING);
        }
    }

    static String sha256(Path file) throws IOException {
        MessageDigest digest = digest();
        byte[] buffer = new byte[1 << 20];
        try (InputStream in = Files.newInputStream(file)) {
            for (int read; (read = in.read(buffer)) >= 0; ) {
                digest.update(buffer, 0, read);
            }
        }
        return HexFormat.of().formatHex(digest.digest());
    }

    private static String sha256(byte[] bytes) {
        return HexFormat.of().formatHex(digest().digest(bytes));
    }

    private static MessageDigest digest() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("the JDK has no SHA-256", e);
        }
    }
}
