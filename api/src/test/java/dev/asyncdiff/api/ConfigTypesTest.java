package dev.asyncdiff.api;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;

class ConfigTypesTest {
    @Test
    void devicesParse() {
        assertThat(Device.parse("cpu:0")).isEqualTo(Device.CPU);
        assertThat(Device.parse(" CUDA:3 ")).isEqualTo(Device.cuda(3));
        assertThat(Device.parse("cpu")).isEqualTo(Device.CPU);
        assertThat(Device.parse("cuda:1")).hasToString("cuda:1");
        assertThat(Device.parse("trt:2")).isEqualTo(new Device("trt", 2));
        assertThat(Device.parse("gpu")).isEqualTo(new Device("gpu", 0));
        assertThat(Device.parse("cuda:1").isCpu()).isFalse();
        for (String bad : new String[] {"cpu:-1", "cuda:x", "", "cpu:0:1", "2:0", "cpu 0", "tp u"}) {
            assertThatThrownBy(() -> Device.parse(bad)).as(bad).isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining("invalid device '" + bad + "'").hasMessageContaining("KIND:N");
        }
        assertThatThrownBy(() -> new Device("CPU", 0)).hasMessageContaining("invalid device kind 'CPU'");
        assertThatThrownBy(() -> Device.parse(null)).hasMessageContaining("invalid device");
    }

    @Test
    void dtypesParseByNameOrAlias() {
        assertThat(DType.parse("fp16")).isEqualTo(DType.FP16);
        assertThat(DType.parse("float32")).isEqualTo(DType.FP32);
        assertThat(DType.parse("INT64")).isEqualTo(DType.INT64);
        assertThatThrownBy(() -> DType.parse("double")).hasMessageContaining("unknown dtype 'double'")
                .hasMessageContaining("fp32");
    }

    @Test
    void asyncConfigValidates() {
        AsyncConfig config = AsyncConfig.of(2, 2, true);
        assertThat(config.warmUp()).isEqualTo(1);
        assertThat(config.devicesRequired()).isEqualTo(3);
        assertThat(config.withWarmUp(5)).isEqualTo(new AsyncConfig(2, 2, 5, true));
        assertThat(AsyncConfig.of(3, 1, false).devicesRequired()).isEqualTo(3);
        assertThatThrownBy(() -> new AsyncConfig(0, 1, 1, false)).hasMessageContaining("modelN must be >= 1");
        assertThatThrownBy(() -> new AsyncConfig(2, 3, 1, false)).hasMessageContaining("stride must be 1 or 2");
        assertThatThrownBy(() -> new AsyncConfig(2, 1, 0, false)).hasMessageContaining("warmUp must be >= 1");
    }

    @Test
    void theFacadeSwitchesThePipelineAndResetsWarmUp() {
        RecordingPipeline pipeline = new RecordingPipeline();
        AsyncDiff async = AsyncDiff.enable(pipeline, AsyncConfig.of(2, 1, false));
        assertThat(pipeline.asyncConfig()).isEqualTo(new AsyncConfig(2, 1, 1, false));
        async.resetState(4);
        assertThat(async.config()).isEqualTo(new AsyncConfig(2, 1, 4, false));
        assertThatThrownBy(() -> AsyncDiff.enable(null, AsyncConfig.SEQUENTIAL)).hasMessageContaining("pipeline");
    }

    /** A pipeline that only records its configuration. */
    private static final class RecordingPipeline implements DiffusionPipeline {
        private AsyncConfig config = AsyncConfig.SEQUENTIAL;

        @Override
        public String family() {
            return "test";
        }

        @Override
        public void setAsyncConfig(AsyncConfig newConfig) {
            config = newConfig;
        }

        @Override
        public AsyncConfig asyncConfig() {
            return config;
        }

        @Override
        public PipelineOutput run(GenerationRequest request) {
            return new PipelineOutput(Tensor.zeros(DType.FP32, 1, 4, 1, 1), Tensor.zeros(DType.FP32, 1, 3, 8, 8));
        }

        @Override
        public String strategyName() {
            return "none";
        }

        @Override
        public GenerationResult generate(GenerationRequest request) {
            PhaseTimings none = new PhaseTimings(Duration.ZERO, Duration.ZERO, Duration.ZERO, Duration.ZERO);
            return new GenerationResult(List.of(), request.seed(), 0, none, List.of());
        }

        @Override
        public void close() {
        }
    }
}
