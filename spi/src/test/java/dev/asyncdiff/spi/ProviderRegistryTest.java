package dev.asyncdiff.spi;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.List;
import org.junit.jupiter.api.Test;

class ProviderRegistryTest {
    @Test
    void findsTheProvidersRegisteredUnderMetaInfServices() {
        ProviderRegistry<BackendProvider> registry = ProviderRegistry.load("backend", BackendProvider.class);

        assertThat(registry.names()).containsExactly("fake", "other");
        assertThat(registry.get("other")).isInstanceOf(OtherBackendProvider.class);
        assertThat(registry.kind()).isEqualTo("backend");
    }

    @Test
    void theHigherPriorityWinsWhenTwoShareAName() {
        ProviderRegistry<BackendProvider> loaded = ProviderRegistry.load("backend", BackendProvider.class);
        assertThat(loaded.get("fake")).isInstanceOf(PreferredFakeBackendProvider.class);

        RecordingBackendProvider plain = new RecordingBackendProvider();
        PreferredFakeBackendProvider preferred = new PreferredFakeBackendProvider();
        assertThat(ProviderRegistry.of("backend", List.of(plain, preferred)).get("fake")).isSameAs(preferred);
        assertThat(ProviderRegistry.of("backend", List.of(preferred, plain)).get("fake")).isSameAs(preferred);
    }

    @Test
    void anUnknownNameFailsWithTheKnownNames() {
        ProviderRegistry<BackendProvider> registry = ProviderRegistry.load("backend", BackendProvider.class);

        assertThatThrownBy(() -> registry.get("tensorrt"))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("unknown backend 'tensorrt'; known backends: fake, other");
    }

    @Test
    void anEmptyRegistrySaysNoProviderIsOnTheClassPath() {
        ProviderRegistry<SamplerProvider> empty = ProviderRegistry.of("sampler", List.of());

        assertThatThrownBy(() -> empty.get("ddim"))
                .hasMessageContaining("unknown sampler 'ddim'")
                .hasMessageContaining("no sampler provider on the class path");
    }
}
