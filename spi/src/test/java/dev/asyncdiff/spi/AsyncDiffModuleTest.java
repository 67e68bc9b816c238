package dev.asyncdiff.spi;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.google.inject.Guice;
import com.google.inject.Injector;
import com.google.inject.Key;
import com.google.inject.ProvisionException;
import com.google.inject.TypeLiteral;
import com.google.inject.util.Modules;
import dev.asyncdiff.api.Device;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

class AsyncDiffModuleTest {
    private static final RuntimeConfig OTHER_ON_TWO_CPUS = RuntimeConfig.builder()
            .backend("other")
            .devices(Device.parse("cpu:0"), Device.parse("cpu:1"))
            .option("intraOpThreads", "1")
            .build();

    @BeforeEach
    void forgetOpenedBackends() {
        RecordingBackendProvider.OPENED.clear();
    }

    @Test
    void theInjectorBindsEveryDiscoveredProviderByName() {
        Injector injector = Guice.createInjector(AsyncDiffModule.fromClassPath(OTHER_ON_TWO_CPUS));

        Map<String, BackendProvider> backends =
                injector.getInstance(Key.get(new TypeLiteral<Map<String, BackendProvider>>() { }));
        assertThat(backends).containsOnlyKeys("fake", "other");
        assertThat(backends.get("fake")).isInstanceOf(PreferredFakeBackendProvider.class);
        assertThat(injector.getInstance(Key.get(new TypeLiteral<Map<String, SamplerProvider>>() { })))
                .containsOnlyKeys("test-sampler");
        assertThat(injector.getInstance(Key.get(new TypeLiteral<Map<String, StrategyProvider>>() { })))
                .containsOnlyKeys("test-strategy");
        assertThat(injector.getInstance(Key.get(new TypeLiteral<Map<String, ModelAdapterProvider>>() { })))
                .containsOnlyKeys("test-adapter");
    }

    @Test
    void selectsTheConfiguredBackendAndOpensItWithTheConfiguredDevicesAndOptions() {
        AsyncDiffRuntime runtime = Guice.createInjector(AsyncDiffModule.fromClassPath(OTHER_ON_TWO_CPUS))
                .getInstance(AsyncDiffRuntime.class);

        assertThat(runtime.config()).isEqualTo(OTHER_ON_TWO_CPUS);
        assertThat(runtime.backendProvider()).isInstanceOf(OtherBackendProvider.class);
        try (Backend backend = runtime.openBackend()) {
            assertThat(backend.name()).isEqualTo("other@0");
        }
        assertThat(RecordingBackendProvider.OPENED).containsExactly(
                new BackendOptions(List.of(Device.parse("cpu:0"), Device.parse("cpu:1")), Map.of("intraOpThreads", "1")));
        assertThat(runtime.samplers().names()).containsExactly("test-sampler");
        assertThat(runtime.strategies().names()).containsExactly("test-strategy");
        assertThat(runtime.adapters().names()).containsExactly("test-adapter");
        assertThat(runtime.backends().names()).containsExactly("fake", "other");
    }

    @Test
    void eachOpenBackendCallOpensANewBackend() {
        AsyncDiffRuntime runtime = AsyncDiffRuntime.create(RuntimeConfig.builder().backend("fake").build());

        try (Backend first = runtime.openBackend(); Backend second = runtime.openBackend()) {
            assertThat(first).isNotSameAs(second);
            assertThat(first.name()).isEqualTo("fake@5");
        }
        assertThat(RecordingBackendProvider.OPENED).hasSize(2);
    }

    @Test
    void anUnknownBackendNameFailsWithTheKnownNamesWhenItIsNeeded() {
        RuntimeConfig config = RuntimeConfig.builder().backend("tensorrt").build();
        Injector injector = Guice.createInjector(AsyncDiffModule.fromClassPath(config));
        AsyncDiffRuntime runtime = injector.getInstance(AsyncDiffRuntime.class);

        assertThatThrownBy(runtime::openBackend)
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("unknown backend 'tensorrt'; known backends: fake, other");
        assertThatThrownBy(() -> injector.getInstance(BackendProvider.class))
                .isInstanceOf(ProvisionException.class)
                .cause().hasMessageContaining("known backends: fake, other");
        assertThat(RecordingBackendProvider.OPENED).isEmpty();
    }

    @Test
    void testsCanOverrideTheSelectedBackend() {
        RecordingBackendProvider replacement = new RecordingBackendProvider() {
            @Override
            public String name() {
                return "replacement";
            }
        };
        Injector injector = Guice.createInjector(Modules.override(AsyncDiffModule.fromClassPath(OTHER_ON_TWO_CPUS))
                .with(binder -> binder.bind(BackendProvider.class).toInstance(replacement)));

        try (Backend backend = injector.getInstance(AsyncDiffRuntime.class).openBackend()) {
            assertThat(backend.name()).isEqualTo("replacement@0");
        }
    }

    @Test
    void theModuleUsesOnlyTheCatalogItIsGiven() {
        ProviderCatalog onlyOther = new ProviderCatalog(
                ProviderRegistry.of("backend", List.of(new OtherBackendProvider())),
                ProviderRegistry.of("adapter", List.of()),
                ProviderRegistry.of("strategy", List.of()),
                ProviderRegistry.of("sampler", List.of()));

        AsyncDiffRuntime runtime = Guice.createInjector(new AsyncDiffModule(OTHER_ON_TWO_CPUS, onlyOther))
                .getInstance(AsyncDiffRuntime.class);

        assertThat(runtime.backends().names()).containsExactly("other");
        assertThat(runtime.samplers().names()).isEmpty();
        assertThat(runtime.backendProvider()).isInstanceOf(OtherBackendProvider.class);
    }
}
