package dev.asyncdiff.onnx.graph.split;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.asyncdiff.api.MalformedModelException;
import dev.asyncdiff.onnx.graph.CacheLock;
import dev.asyncdiff.onnx.graph.ExternalDataPolicy;
import java.io.RandomAccessFile;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The split cache: verified entries, repair of damaged ones, abandoned temporary folders, error messages. */
class SplitCacheTest {
    private static final int H = 8;
    private static final int W = 6;

    @TempDir
    Path dir;
    private Path model;
    private Path cache;

    @BeforeEach
    void writeModel() {
        model = dir.resolve("unet/model.onnx");
        MiniUNet.build().write(model, ExternalDataPolicy.EXTERNAL);
        cache = dir.resolve("cache");
    }

    private SplitResult split() {
        return new GraphSplitter(cache).split(model, 2, H, W, null, ExternalDataPolicy.EXTERNAL);
    }

    @Test
    void theManifestRecordsEveryFileWithItsSizeAndDigest() throws Exception {
        SplitResult split = split();
        List<SplitManifest.FileEntry> files = split.manifest().files();
        try (Stream<Path> onDisk = Files.list(split.directory())) {
            assertThat(files).extracting(SplitManifest.FileEntry::name).containsExactlyInAnyOrderElementsOf(
                    onDisk.map(p -> p.getFileName().toString()).filter(n -> !n.equals(SplitManifest.FILE_NAME))
                            .toList());
        }
        assertThat(files).extracting(SplitManifest.FileEntry::name).contains("component-0.onnx", "component-1.onnx");
        for (SplitManifest.FileEntry file : files) {
            assertThat(file.bytes()).isEqualTo(Files.size(split.directory().resolve(file.name())));
            assertThat(file.sha256()).hasSize(64);
        }
        assertThat(split().reused()).as("an intact entry is reused").isTrue();
    }

    @Test
    void aTruncatedComponentIsCutAgainAndRunsLikeTheWholeModel() throws Exception {
        SplitResult first = split();
        Path component = first.directory().resolve("component-0.onnx");
        long size = Files.size(component);
        try (RandomAccessFile file = new RandomAccessFile(component.toFile(), "rw")) {
            file.setLength(size / 2);
        }
        assertThatThrownBy(() -> GraphSplitter.open(first.directory())).isInstanceOf(MalformedModelException.class)
                .hasMessageContaining("component-0.onnx has " + size / 2 + " bytes, the manifest says " + size)
                .hasMessageContaining("split the model again");

        SplitResult repaired = split();
        assertThat(repaired.reused()).as("a damaged entry is cut again").isFalse();
        assertThat(repaired.directory()).isEqualTo(first.directory());
        assertThat(Files.size(component)).isEqualTo(size);
        var in = GraphSplitterTest.inputs(1, 5);
        float[] whole = ComponentChain.run(model, in).get("out_sample");
        float[] chained = ComponentChain.chain(repaired, in).get("out_sample");
        for (int i = 0; i < whole.length; i++) {
            assertThat(chained[i]).isCloseTo(whole[i], org.assertj.core.data.Offset.offset(1e-5f));
        }
        assertThat(split().reused()).isTrue();
    }

    @Test
    void bytesOverwrittenInPlaceAreCaughtByTheDigest() throws Exception {
        SplitResult first = split();
        Path data = first.directory().resolve(first.manifest().files().stream()
                .filter(f -> f.name().endsWith("_data")).findFirst().orElseThrow().name());
        byte[] bytes = Files.readAllBytes(data);
        bytes[bytes.length / 2] ^= 0x5A;
        Files.write(data, bytes);
        assertThatThrownBy(() -> GraphSplitter.open(first.directory())).isInstanceOf(MalformedModelException.class)
                .hasMessageContaining(data.getFileName() + " has SHA-256");
        assertThat(split().reused()).isFalse();
        assertThat(GraphSplitter.open(first.directory()).manifest().files()).isNotEmpty();
    }

    @Test
    void aTemporaryFolderLeftByAProcessThatDiedIsRemovedByTheNextWriter() throws Exception {
        Process gone = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-version").redirectErrorStream(true).redirectOutput(dir.resolve("java-version.txt").toFile()).start();
        assertThat(gone.waitFor(60, TimeUnit.SECONDS)).isTrue();
        SplitResult split = split();
        CacheLock.deleteTree(split.directory());
        Path abandoned = Files.createDirectories(split.directory().resolveSibling(
                split.directory().getFileName() + ".tmp-" + gone.pid() + "-1f"));
        Files.writeString(abandoned.resolve("component-0.onnx"), "half written");
        Path live = Files.createDirectories(split.directory().resolveSibling(
                split.directory().getFileName() + ".tmp-" + ProcessHandle.current().pid() + "-2f"));

        assertThat(split().reused()).isFalse();
        assertThat(abandoned).doesNotExist();
        assertThat(live).as("a live process's folder is kept").isDirectory();
    }

    @Test
    void threadsSplittingTogetherCutOnce() throws Exception {
        ExecutorService pool = Executors.newFixedThreadPool(4);
        try {
            List<Callable<SplitResult>> tasks = new ArrayList<>();
            for (int i = 0; i < 4; i++) {
                tasks.add(() -> new GraphSplitter(cache).split(model, 3, H, W, null, ExternalDataPolicy.AUTO));
            }
            List<Future<SplitResult>> results = pool.invokeAll(tasks, 120, TimeUnit.SECONDS);
            int cut = 0;
            for (Future<SplitResult> result : results) {
                cut += result.get().reused() ? 0 : 1;
            }
            assertThat(cut).isEqualTo(1);
        } finally {
            pool.shutdownNow();
        }
    }

    @Test
    void aCacheThatCannotBeWrittenIsNamedInTheError() throws Exception {
        Files.writeString(cache, "a file where the cache folder should be");
        assertThatThrownBy(this::split).isInstanceOf(UncheckedIOException.class)
                .hasMessageContaining("split cache: " + cache.toAbsolutePath())
                .hasMessageContaining("ASYNCDIFF_CACHE_DIR");
    }

    @Test
    void testsDoNotUseTheUsersCache() {
        Path userCache = Path.of(System.getProperty("user.home"), ".cache", "asyncdiff");
        Path root = GraphSplitter.defaultCacheRoot().toAbsolutePath().normalize();
        assertThat(root.startsWith(userCache)).as("the build points the test cache (%s) away from %s", root, userCache)
                .isFalse();
    }
}
