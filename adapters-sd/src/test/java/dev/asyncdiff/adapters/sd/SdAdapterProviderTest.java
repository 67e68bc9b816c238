package dev.asyncdiff.adapters.sd;

import static org.assertj.core.api.Assertions.assertThat;

import dev.asyncdiff.api.AsyncConfig;
import dev.asyncdiff.api.DiffusionPipeline;
import dev.asyncdiff.backend.onnx.OnnxBackend;
import dev.asyncdiff.spi.BackendOptions;
import dev.asyncdiff.spi.ModelAdapterProvider;
import dev.asyncdiff.spi.ProviderRegistry;
import dev.asyncdiff.synthetic.Family;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class SdAdapterProviderTest {
    @Test
    void isFoundThroughServiceLoaderAndOpensEveryFamily(@TempDir Path empty) {
        ModelAdapterProvider sd = ProviderRegistry.load("adapter", ModelAdapterProvider.class).get("sd");
        assertThat(sd).isInstanceOf(SdAdapterProvider.class);
        assertThat(sd.supports(empty)).isFalse();
        BackendOptions options = BackendOptions.defaults();
        try (OnnxBackend backend = new OnnxBackend(options)) {
            for (Family family : Family.values()) {
                if (family.video()) {
                    continue;   // the video adapter's
                }
                Path folder = TestModels.tiny(family);
                assertThat(sd.supports(folder)).isTrue();
                try (DiffusionPipeline pipeline = sd.open(folder, TestContexts.on(backend))) {
                    assertThat(pipeline.family()).isEqualTo(family.base().cliName());
                    assertThat(pipeline.asyncConfig()).isEqualTo(AsyncConfig.SEQUENTIAL);
                }
            }
        }
    }
}
