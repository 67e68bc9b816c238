package dev.asyncdiff.backend.onnx;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ai.onnxruntime.OrtSession.SessionOptions;
import ai.onnxruntime.OrtSession.SessionOptions.OptLevel;
import dev.asyncdiff.api.Device;
import dev.asyncdiff.spi.BackendOptions;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class OnnxOptionsTest {
    private static OnnxOptions parse(List<String> devices, Map<String, String> options) {
        return OnnxOptions.from(new BackendOptions(devices.stream().map(Device::parse).toList(), options));
    }

    @Test
    void oneCpuDeviceLeavesIntraOpThreadsToOnnxRuntime() {
        OnnxOptions options = parse(List.of("cpu:0"), Map.of());
        assertThat(options.intraOpThreads()).isZero();
        assertThat(options.interOpThreads()).isZero();
        assertThat(options.optimizationLevel()).isEqualTo(OptLevel.ALL_OPT);
        assertThat(options.disableCpuFallback()).isFalse();
        assertThat(options.cpuArena()).isTrue();
    }

    @Test
    void theCpuArenaCanBeTurnedOffAndASessionStillRuns(@org.junit.jupiter.api.io.TempDir java.nio.file.Path dir)
            throws Exception {
        OnnxOptions options = parse(List.of("cpu:0"), Map.of("cpuArena", "FALSE"));
        assertThat(options.cpuArena()).isFalse();
        try (OnnxBackend backend = new OnnxBackend(new BackendOptions(List.of(Device.CPU), Map.of("cpuArena", "false")));
             dev.asyncdiff.api.InferenceSession session = backend.load(
                     TestModels.write(dir, "linear.onnx", TestModels.linearRelu()), Device.CPU);
             dev.asyncdiff.api.Tensor x = dev.asyncdiff.api.Tensor.ofFloats(new float[] {1, 2, 3}, 1, 3);
             dev.asyncdiff.api.NamedTensors out = session.run(Map.of("X", x))) {
            assertThat(out.get("Y").toFloatArray()).containsExactly(TestModels.linearReluExpected(new float[] {1, 2, 3}, 1),
                    org.assertj.core.data.Offset.offset(1e-5f));
        }
        assertThatThrownBy(() -> parse(List.of("cpu:0"), Map.of("cpuArena", "maybe")))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("'cpuArena' must be true or false");
    }

    @Test
    void severalCpuDevicesDefaultToOneIntraOpThreadEach() {
        assertThat(parse(List.of("cpu:0", "cpu:1", "cpu:2"), Map.of()).intraOpThreads()).isEqualTo(1);
    }

    @Test
    void oneCpuBesideAGpuKeepsTheRuntimeDefault() {
        assertThat(parse(List.of("cpu:0", "cuda:0"), Map.of()).intraOpThreads()).isZero();
    }

    @Test
    void explicitValuesWin() {
        OnnxOptions options = parse(List.of("cpu:0", "cpu:1"), Map.of("intraOpThreads", " 4 ", "interOpThreads", "2",
                "optimizationLevel", "Basic", "disableCpuFallback", "true"));
        assertThat(options.intraOpThreads()).isEqualTo(4);
        assertThat(options.interOpThreads()).isEqualTo(2);
        assertThat(options.optimizationLevel()).isEqualTo(OptLevel.BASIC_OPT);
        assertThat(options.disableCpuFallback()).isTrue();
        assertThat(parse(List.of("cpu:0"), Map.of("optimizationLevel", "none")).optimizationLevel())
                .isEqualTo(OptLevel.NO_OPT);
        assertThat(parse(List.of("cpu:0"), Map.of("optimizationLevel", "extended")).optimizationLevel())
                .isEqualTo(OptLevel.EXTENDED_OPT);
    }

    @Test
    void badValuesNameTheOption() {
        assertThatThrownBy(() -> parse(List.of("cpu:0"), Map.of("intraOpThreads", "two")))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("'intraOpThreads'")
                .hasMessageContaining("integer");
        assertThatThrownBy(() -> parse(List.of("cpu:0"), Map.of("intraOpThreads", "-1")))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("'intraOpThreads' must be >= 0");
        assertThatThrownBy(() -> parse(List.of("cpu:0"), Map.of("interOpThreads", "-3")))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("'interOpThreads'");
        assertThatThrownBy(() -> parse(List.of("cpu:0"), Map.of("optimizationLevel", "max")))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("'optimizationLevel' must be one of [all, basic, extended, none], was 'max'");
        assertThatThrownBy(() -> parse(List.of("cpu:0"), Map.of("disableCpuFallback", "yes")))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("true or false");
    }

    @Test
    void unknownKeysAreRejectedWithTheValidOnes() {
        assertThatThrownBy(() -> parse(List.of("cpu:0"), Map.of("intraopThreads", "2")))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("unknown onnx backend option 'intraopThreads'")
                .hasMessageContaining("intraOpThreads");
    }

    @Test
    void sessionOptionsAreBuiltForCpuDevicesWithTheOptions() throws Exception {
        try (OnnxBackend backend = new OnnxBackend(new BackendOptions(List.of(Device.parse("cpu:0"),
                Device.parse("cpu:1")), Map.of("interOpThreads", "1")));
                SessionOptions sessionOptions = backend.sessionOptions(Device.parse("cpu:1"))) {
            assertThat(backend.options().intraOpThreads()).isEqualTo(1);
            assertThat(sessionOptions.getConfigEntries()).doesNotContainKey("session.disable_cpu_ep_fallback");
        }
    }
}
