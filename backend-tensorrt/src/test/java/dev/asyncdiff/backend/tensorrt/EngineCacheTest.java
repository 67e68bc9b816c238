package dev.asyncdiff.backend.tensorrt;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The engine cache's keys, records and refusals, on stand-in engine bytes. */
class EngineCacheTest {
    private static final EngineCache.Target H200 = new EngineCache.Target("NVIDIA H200", "9.0", "11.2.1.0");
    private static final EngineCache.Key KEY = new EngineCache.Key("a".repeat(64), "sample [1]..[2]..[2]",
            "workspace 1, level 3", H200);

    @TempDir
    Path dir;

    @Test
    void aStoredEngineIsFoundAgain() throws IOException {
        EngineCache cache = new EngineCache(dir);
        assertThat(cache.lookup(KEY)).isInstanceOf(EngineCache.Lookup.Miss.class);
        Path stored = cache.store(KEY, file -> Files.write(file, new byte[] {1, 2, 3}));
        assertThat(cache.lookup(KEY)).isEqualTo(new EngineCache.Lookup.Hit(stored));
        assertThat(new EngineCache(dir).lookup(KEY)).isEqualTo(new EngineCache.Lookup.Hit(stored));
        try (var files = Files.list(dir)) {
            assertThat(files.map(p -> p.getFileName().toString())).noneMatch(name -> name.endsWith(".partial"));
        }
    }

    @Test
    void everyFieldOfTheKeyNamesAnotherEngine() {
        EngineCache.Key[] others = {
            new EngineCache.Key("b".repeat(64), KEY.profile(), KEY.builder(), H200),
            new EngineCache.Key(KEY.componentSha256(), "sample [1]..[2]..[4]", KEY.builder(), H200),
            new EngineCache.Key(KEY.componentSha256(), KEY.profile(), "workspace 1, level 5", H200),
            new EngineCache.Key(KEY.componentSha256(), KEY.profile(), KEY.builder(),
                    new EngineCache.Target("NVIDIA H100 80GB HBM3", "9.0", "11.2.1.0")),
            new EngineCache.Key(KEY.componentSha256(), KEY.profile(), KEY.builder(),
                    new EngineCache.Target("NVIDIA H200", "9.0", "11.1.0.0")),
        };
        for (EngineCache.Key other : others) {
            assertThat(other.stem()).as(other.toString()).isNotEqualTo(KEY.stem());
        }
    }

    @Test
    void anEngineBuiltForAnotherGpuOrVersionIsStaleAndSaysWhy() throws IOException {
        EngineCache cache = new EngineCache(dir);
        cache.store(KEY, file -> Files.write(file, new byte[] {1, 2, 3}));
        EngineCache.Key onH100 = new EngineCache.Key(KEY.componentSha256(), KEY.profile(), KEY.builder(),
                new EngineCache.Target("NVIDIA H100 80GB HBM3", "9.0", "11.2.1.0"));
        // an engine copied under another GPU's name (a shared cache folder, a careless copy)
        Files.copy(cache.engineFile(KEY), cache.engineFile(onH100));
        Files.copy(dir.resolve(KEY.stem() + ".json"), dir.resolve(onH100.stem() + ".json"));
        assertThat(cache.lookup(onH100)).isInstanceOfSatisfying(EngineCache.Lookup.Stale.class, stale ->
                assertThat(stale.reason()).isEqualTo("it was built for NVIDIA H200 (compute capability 9.0) with "
                        + "TensorRT 11.2.1.0, this is NVIDIA H100 80GB HBM3 (compute capability 9.0) with TensorRT "
                        + "11.2.1.0"));
    }

    @Test
    void aCutShortOrAlteredEngineIsStale() throws IOException {
        EngineCache cache = new EngineCache(dir);
        Path engine = cache.store(KEY, file -> Files.write(file, new byte[] {1, 2, 3, 4}));
        Files.write(engine, new byte[] {1, 2}, StandardOpenOption.TRUNCATE_EXISTING);
        assertThat(cache.lookup(KEY)).isInstanceOfSatisfying(EngineCache.Lookup.Stale.class, stale ->
                assertThat(stale.reason()).contains("2 bytes, its record says 4"));
        Files.write(engine, new byte[] {1, 2, 3, 5});
        assertThat(cache.lookup(KEY)).isInstanceOfSatisfying(EngineCache.Lookup.Stale.class, stale ->
                assertThat(stale.reason()).contains("SHA-256"));
        Files.delete(dir.resolve(KEY.stem() + ".json"));
        assertThat(cache.lookup(KEY)).isInstanceOfSatisfying(EngineCache.Lookup.Stale.class, stale ->
                assertThat(stale.reason()).contains("only one of"));
        cache.evict(KEY);
        assertThat(cache.lookup(KEY)).isInstanceOf(EngineCache.Lookup.Miss.class);
    }

    @Test
    void aFailedBuildLeavesNothingBehind() {
        EngineCache cache = new EngineCache(dir);
        try {
            cache.store(KEY, file -> {
                Files.write(file, new byte[] {1});
                throw new IOException("the builder ran out of memory");
            });
        } catch (java.io.UncheckedIOException expected) {
            assertThat(expected).hasMessageContaining("the builder ran out of memory");
        }
        assertThat(cache.lookup(KEY)).isInstanceOf(EngineCache.Lookup.Miss.class);
        try (var files = Files.list(dir)) {
            assertThat(files).isEmpty();
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    @Test
    void timingCachesArePerGpuModelAndVersion() {
        EngineCache cache = new EngineCache(dir);
        assertThat(cache.timingCacheFile(H200).getFileName().toString())
                .isEqualTo("timing-nvidia_h200_sm9.0_trt11.2.1.0.cache");
        assertThat(cache.timingCacheFile(new EngineCache.Target("NVIDIA H200", "9.0", "11.3.0.0")))
                .isNotEqualTo(cache.timingCacheFile(H200));
    }
}
