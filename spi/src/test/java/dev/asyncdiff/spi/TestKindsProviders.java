package dev.asyncdiff.spi;

import dev.asyncdiff.api.DiffusionPipeline;
import dev.asyncdiff.api.NoiseScheduler;
import dev.asyncdiff.api.ParallelStrategy;
import java.nio.file.Path;

/** Test providers of the adapter, strategy and sampler kinds; discovery tests never call their factories. */
public final class TestKindsProviders {
    private TestKindsProviders() {
    }

    /** Adapter {@code test-adapter}, which supports no folder. */
    public static final class Adapter implements ModelAdapterProvider {
        @Override
        public String name() {
            return "test-adapter";
        }

        @Override
        public boolean supports(Path modelDir) {
            return false;
        }

        @Override
        public DiffusionPipeline open(Path modelDir, PipelineContext context) {
            throw new IllegalArgumentException("test-adapter supports no model folder, was " + modelDir);
        }
    }

    /** Strategy {@code test-strategy}. */
    public static final class Strategy implements StrategyProvider {
        @Override
        public String name() {
            return "test-strategy";
        }

        @Override
        public ParallelStrategy create(StrategyContext context) {
            throw new IllegalStateException("test-strategy creates no strategy");
        }
    }

    /** Sampler {@code test-sampler}. */
    public static final class Sampler implements SamplerProvider {
        @Override
        public String name() {
            return "test-sampler";
        }

        @Override
        public NoiseScheduler create(String schedulerConfigJson) {
            throw new IllegalStateException("test-sampler creates no scheduler");
        }
    }
}
