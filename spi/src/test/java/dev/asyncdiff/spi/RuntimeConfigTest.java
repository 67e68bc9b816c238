package dev.asyncdiff.spi;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.asyncdiff.api.Device;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class RuntimeConfigTest {
    @Test
    void defaultsToOnnxOnTheFirstCpu() {
        RuntimeConfig config = RuntimeConfig.defaults();

        assertThat(config.backend()).isEqualTo("onnx");
        assertThat(config.devices()).containsExactly(Device.CPU);
        assertThat(config.backendOptions()).isEmpty();
    }

    @Test
    void builderSetsEveryPartAndBackendOptionsCarryThem() {
        RuntimeConfig config = RuntimeConfig.builder()
                .backend("tensorrt")
                .devices(Device.parse("cuda:0"), Device.parse("cuda:1"))
                .option("workspaceMb", "512")
                .options(Map.of("fp16", "true"))
                .build();

        assertThat(config.backend()).isEqualTo("tensorrt");
        assertThat(config.devices()).extracting(Device::toString).containsExactly("cuda:0", "cuda:1");
        assertThat(config.toBackendOptions().options()).containsOnly(
                Map.entry("workspaceMb", "512"), Map.entry("fp16", "true"));
        assertThat(config.toBackendOptions().devices()).isEqualTo(config.devices());
    }

    @Test
    void copiesItsCollections() {
        List<Device> devices = new ArrayList<>(List.of(Device.CPU));
        Map<String, String> options = new HashMap<>(Map.of("a", "1"));
        RuntimeConfig config = new RuntimeConfig("onnx", devices, options);
        devices.add(Device.parse("cpu:1"));
        options.put("b", "2");

        assertThat(config.devices()).containsExactly(Device.CPU);
        assertThat(config.backendOptions()).containsOnlyKeys("a");
    }

    @Test
    void rejectsMissingOrMalformedParts() {
        assertThatThrownBy(() -> RuntimeConfig.builder().backend(" ").build())
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("backend name");
        assertThatThrownBy(() -> RuntimeConfig.builder().backend(null).build())
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("was null");
        assertThatThrownBy(() -> RuntimeConfig.builder().devices(List.of()).build())
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("at least one device");
        assertThatThrownBy(() -> RuntimeConfig.builder().devices(Device.CPU, null).build())
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("must not contain null");
        assertThatThrownBy(() -> RuntimeConfig.builder().devices(Device.CPU, Device.parse("cpu:0")).build())
                .isInstanceOf(IllegalArgumentException.class).hasMessage("device cpu:0 is listed twice in [cpu:0, cpu:0]");
        assertThatThrownBy(() -> RuntimeConfig.builder().option("threads", null).build())
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("'threads' has no value");
        assertThatThrownBy(() -> RuntimeConfig.builder().option("", "1").build())
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("must not be blank");
    }
}
