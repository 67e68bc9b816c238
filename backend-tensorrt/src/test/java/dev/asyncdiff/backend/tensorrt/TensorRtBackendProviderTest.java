package dev.asyncdiff.backend.tensorrt;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.asyncdiff.api.BackendException;
import dev.asyncdiff.api.Device;
import dev.asyncdiff.spi.BackendOptions;
import dev.asyncdiff.spi.BackendProvider;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.ServiceLoader;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

/** What the provider checks before any native code loads, and its error where TensorRT is absent. */
class TensorRtBackendProviderTest {
    @Test
    void serviceLoaderFindsTheBackendByName() {
        assertThat(ServiceLoader.load(BackendProvider.class).stream().map(ServiceLoader.Provider::get)
                .map(BackendProvider::name)).contains("tensorrt");
    }

    @Test
    void optionsParseWithDefaultsAndNameWhatIsWrong() {
        TensorRtOptions defaults = TensorRtOptions.from(options(Map.of()));
        assertThat(defaults.profile()).isEqualTo(ProfileRequest.PLANNED);
        assertThat(defaults.workspaceBytes()).isEqualTo(4096L << 20);
        assertThat(defaults.optimizationLevel()).isEqualTo(3);
        assertThat(defaults.engineCache().getFileName()).isEqualTo(Path.of("tensorrt"));
        TensorRtOptions given = TensorRtOptions.from(options(Map.of("profile", "512:1024", "maxBatch", "4",
                "engineCache", "/tmp/engines")));
        assertThat(given.profile()).isEqualTo(new ProfileRequest(512, 512, 1024, 2, 4));
        assertThat(given.engineCache()).isEqualTo(Path.of("/tmp/engines"));
        assertThatThrownBy(() -> TensorRtOptions.from(options(Map.of("intraOpThreads", "2"))))
                .hasMessageContaining("unknown tensorrt backend option 'intraOpThreads'").hasMessageContaining("profile");
        assertThatThrownBy(() -> TensorRtOptions.from(options(Map.of("builderOptimizationLevel", "7"))))
                .hasMessageContaining("'builderOptimizationLevel' must be 0 to 5, was 7");
    }

    @Test
    void profilesParseAndNameWhatIsWrong() {
        assertThat(ProfileRequest.parse("256:512:1024", 2, 2)).isEqualTo(new ProfileRequest(256, 512, 1024, 2, 2));
        assertThat(ProfileRequest.parse("512:1024", 1, 2).key()).isEqualTo("512:512:1024,batch 1..2");
        assertThat(ProfileRequest.PLANNED.key()).isEqualTo("planned,batch 2..2");
        assertThatThrownBy(() -> ProfileRequest.parse("512", 2, 2)).hasMessageContaining("expected MIN:MAX or MIN:OPT:MAX");
        assertThatThrownBy(() -> ProfileRequest.parse("512:big", 2, 2)).hasMessageContaining("'big' is not a whole number");
        assertThatThrownBy(() -> ProfileRequest.parse("500:1024", 2, 2)).hasMessageContaining("multiples of 8");
        assertThatThrownBy(() -> ProfileRequest.parse("1024:512", 2, 2)).hasMessageContaining("MIN <= OPT <= MAX");
        assertThatThrownBy(() -> ProfileRequest.parse("512:1024", 3, 2)).hasMessageContaining("1 <= optBatch <= maxBatch");
    }

    @Test
    void aCpuDeviceIsRefusedBeforeAnythingLoads() {
        assertThatThrownBy(() -> new TensorRtBackendProvider().open(new BackendOptions(List.of(Device.cpu(0)),
                Map.of()))).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("runs on cuda:N devices, not cpu:0");
    }

    @Test
    void withoutTheNativesOpeningSaysWhatToInstall() {
        Assumptions.assumeFalse(TensorRtGpuTest.nativesLoad(), "TensorRT's natives load here; nothing to check");
        assertThatThrownBy(() -> new TensorRtBackendProvider().open(new BackendOptions(List.of(Device.cuda(0)),
                Map.of()))).isInstanceOf(BackendException.class)
                .hasMessageContaining("-Ptensorrt").hasMessageContaining("NVIDIA driver");
    }

    private static BackendOptions options(Map<String, String> values) {
        return new BackendOptions(List.of(Device.cuda(0)), values);
    }
}
