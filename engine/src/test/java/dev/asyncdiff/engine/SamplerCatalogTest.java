package dev.asyncdiff.engine;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.asyncdiff.api.NoiseScheduler;
import dev.asyncdiff.samplers.BaseSamplerProvider;
import dev.asyncdiff.samplers.Samplers;
import dev.asyncdiff.spi.ProviderRegistry;
import dev.asyncdiff.spi.SamplerProvider;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class SamplerCatalogTest {
    private static final String EULER_CONFIG = "{\"_class_name\": \"EulerDiscreteScheduler\", \"num_train_timesteps\": "
            + "1000, \"beta_start\": 0.00085, \"beta_end\": 0.012, \"beta_schedule\": \"scaled_linear\"}";

    private final SamplerCatalog catalog = new SamplerCatalog(ProviderRegistry.load("sampler", SamplerProvider.class));

    @Test
    void everyDiffusersClassResolvesToTheProviderTheStaticTableChooses(@TempDir Path dir) throws IOException {
        assertThat(catalog.classNames()).containsExactlyInAnyOrderElementsOf(Samplers.classNames());
        for (String className : Samplers.classNames()) {
            assertThat(catalog.provider(className).name()).as(className)
                    .isEqualTo(Samplers.provider(className).name());
        }
        Path config = Files.writeString(dir.resolve("scheduler_config.json"), EULER_CONFIG);
        NoiseScheduler byClass = catalog.create(config, null);
        NoiseScheduler byName = catalog.create(config, "dpmpp_2m_karras");
        byClass.setTimesteps(10);
        byName.setTimesteps(10);
        assertThat(byClass.getClass()).isEqualTo(Samplers.fromConfig(config).getClass());
        assertThat(byClass.timesteps()).containsExactly(timesteps(Samplers.fromConfig(config)));
        assertThat(byName.timesteps()).containsExactly(timesteps(Samplers.fromConfig(config, "dpmpp_2m_karras")));
    }

    private static double[] timesteps(NoiseScheduler scheduler) {
        scheduler.setTimesteps(10);
        return scheduler.timesteps();
    }

    @Test
    void aPluginWithHigherPriorityBecomesTheDefaultForItsClass(@TempDir Path dir) throws IOException {
        List<SamplerProvider> providers = new ArrayList<>(Samplers.providers());
        BaseSamplerProvider euler = Samplers.provider("euler");
        SamplerProvider plugin = new SamplerProvider() {
            @Override
            public String name() {
                return "my_euler";
            }

            @Override
            public int priority() {
                return 10;
            }

            @Override
            public String defaultForClass() {
                return "EulerDiscreteScheduler";
            }

            @Override
            public NoiseScheduler create(String json) {
                return euler.create(json);
            }
        };
        providers.add(plugin);
        SamplerCatalog withPlugin = new SamplerCatalog(ProviderRegistry.of("sampler", providers));

        assertThat(withPlugin.provider("EulerDiscreteScheduler")).isSameAs(plugin);
        assertThat(withPlugin.knows("my_euler")).isTrue();
        assertThat(catalog.knows("my_euler")).isFalse();
    }

    @Test
    void unknownNamesAndBrokenConfigsAreNamed(@TempDir Path dir) throws IOException {
        Path config = Files.writeString(dir.resolve("scheduler_config.json"), EULER_CONFIG);
        assertThatThrownBy(() -> catalog.create(config, "nope")).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("unknown sampler 'nope'").hasMessageContaining("euler_a");
        Path unknown = Files.writeString(dir.resolve("other.json"), "{\"_class_name\": \"KDPM2DiscreteScheduler\"}");
        assertThatThrownBy(() -> catalog.create(unknown, null)).hasMessageContaining(unknown.toString())
                .hasMessageContaining("unsupported _class_name 'KDPM2DiscreteScheduler'");
        Path broken = Files.writeString(dir.resolve("broken.json"), "{\"_class_name\": ");
        assertThatThrownBy(() -> catalog.create(broken, null)).hasMessageContaining("not valid JSON");
        assertThatThrownBy(() -> catalog.create(dir.resolve("missing.json"), null))
                .hasMessageContaining("missing.json does not exist");
    }
}
