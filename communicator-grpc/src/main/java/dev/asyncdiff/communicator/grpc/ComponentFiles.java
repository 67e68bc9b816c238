package dev.asyncdiff.communicator.grpc;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.stream.Stream;

/**
 * A component's files — its model and, when it has one, its external data file beside it — named by the
 * SHA-256 of their names and bytes: what rank 0 ships to a worker that does not have them yet, and the
 * worker's store of them, one folder per digest, written atomically.
 */
final class ComponentFiles {
    /** Digests by (path, size, modification time), so that each version of a file is read once per JVM. */
    private static final Map<String, String> DIGESTS = new ConcurrentHashMap<>();

    private ComponentFiles() {
    }

    /** The files of the component {@code model}: the model, then its {@code _data} file when there is one. */
    static List<Path> of(Path model) {
        List<Path> files = new ArrayList<>(List.of(model));
        Path data = model.resolveSibling(model.getFileName() + "_data");
        if (Files.isRegularFile(data)) {
            files.add(data);
        }
        return files;
    }

    static String digest(List<Path> files) {
        StringBuilder key = new StringBuilder();
        try {
            for (Path file : files) {
                BasicFileAttributes attributes = Files.readAttributes(file, BasicFileAttributes.class);
                key.append(file.toAbsolutePath()).append('|').append(attributes.size()).append('|')
                        .append(attributes.lastModifiedTime().toMillis()).append('\n');
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + files + ": " + e, e);
        }
        return DIGESTS.computeIfAbsent(key.toString(), k -> compute(files));
    }

    private static String compute(List<Path> files) {
        MessageDigest digest = sha256();
        byte[] buffer = new byte[1 << 20];
        for (Path file : files) {
            digest.update(file.getFileName().toString().getBytes(java.nio.charset.StandardCharsets.UTF_8));
            digest.update((byte) 0);
            try (InputStream in = Files.newInputStream(file)) {
                for (int n; (n = in.read(buffer)) >= 0; ) {
                    digest.update(buffer, 0, n);
                }
            } catch (IOException e) {
                throw new UncheckedIOException("cannot read " + file + ": " + e, e);
            }
        }
        return HexFormat.of().formatHex(digest.digest());
    }

    static MessageDigest sha256() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is missing from this JVM", e);
        }
    }

    /** A worker's store: {@code root/<sha256>/<file names>}. */
    static final class Store {
        private final Path root;

        Store(Path root) {
            this.root = root;
        }

        boolean has(String sha256) {
            return Files.isDirectory(folder(sha256));
        }

        /** The stored file {@code name} of the set {@code sha256}. */
        Path file(String sha256, String name) {
            Path file = folder(sha256).resolve(name).normalize();
            if (!file.startsWith(folder(sha256)) || !Files.isRegularFile(file)) {
                throw new IllegalArgumentException("the component store " + root + " has no file '" + name
                        + "' in the set " + sha256);
            }
            return file;
        }

        private Path folder(String sha256) {
            if (!sha256.matches("[0-9a-f]{64}")) {
                throw new IllegalArgumentException("'" + sha256 + "' is not a SHA-256");
            }
            return root.resolve(sha256);
        }

        /** A set being received: written to a temporary folder, moved into place once its digest matches. */
        Incoming receive(String sha256) {
            try {
                Files.createDirectories(root);
                return new Incoming(sha256, Files.createTempDirectory(root, ".incoming-"));
            } catch (IOException e) {
                throw new UncheckedIOException("cannot write to the component store " + root + ": " + e, e);
            }
        }

        final class Incoming {
            private final String sha256;
            private final Path folder;
            private final MessageDigest digest = sha256();
            private String current;
            private java.io.OutputStream out;

            private Incoming(String sha256, Path folder) {
                this.sha256 = sha256;
                this.folder = folder;
            }

            void write(String name, byte[] data) throws IOException {
                if (!name.equals(current)) {
                    closeFile();
                    Path file = folder.resolve(name).normalize();
                    if (!file.getParent().equals(folder)) {
                        throw new IllegalArgumentException("refusing the file name '" + name + "'");
                    }
                    current = name;
                    digest.update(name.getBytes(java.nio.charset.StandardCharsets.UTF_8));
                    digest.update((byte) 0);
                    out = Files.newOutputStream(file);
                }
                digest.update(data);
                out.write(data);
            }

            /** Moves the set into place when its digest is the announced one; else discards it. */
            void commit() throws IOException {
                closeFile();
                String actual = HexFormat.of().formatHex(digest.digest());
                if (!actual.equals(sha256)) {
                    discard();
                    throw new IllegalArgumentException("the component files received as " + sha256 + " hash to "
                            + actual);
                }
                try {
                    Files.move(folder, folder(sha256), StandardCopyOption.ATOMIC_MOVE);
                } catch (AtomicMoveNotSupportedException | java.nio.file.FileAlreadyExistsException e) {
                    discard();
                } catch (java.nio.file.DirectoryNotEmptyException e) {
                    discard(); // another transfer of the same set won
                }
            }

            void discard() {
                try {
                    closeFile();
                    try (Stream<Path> files = Files.walk(folder)) {
                        for (Path p : files.sorted(Comparator.reverseOrder()).toList()) {
                            Files.deleteIfExists(p);
                        }
                    }
                } catch (IOException e) {
                    // a leftover temporary folder is harmless: it is never read
                }
            }

            private void closeFile() throws IOException {
                if (out != null) {
                    out.close();
                    out = null;
                }
            }
        }
    }
}
