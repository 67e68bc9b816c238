package dev.asyncdiff.scheduler.async;

import dev.asyncdiff.api.TensorSpec;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Where each component input comes from, decided by name: the latent ({@code sample} or
 * {@code hidden_states}), the {@code timestep}, an output of an earlier component (a tensor that
 * crosses a cut), or else a per-step input of the adapter or the request's conditioning. The last
 * component's output that no other component reads is the noise prediction.
 */
final class ComponentRouting {
    static final String TIMESTEP = "timestep";
    private static final List<String> LATENT_NAMES = List.of("sample", "hidden_states");

    private final List<ComponentIo> components;
    private final String latentInput;
    private final String prediction;
    private final Map<String, Integer> producer = new HashMap<>();

    private ComponentRouting(List<ComponentIo> components, String latentInput, String prediction) {
        this.components = components;
        this.latentInput = latentInput;
        this.prediction = prediction;
    }

    /**
     * Routes {@code components}, checking that each reads only what earlier components produce.
     *
     * @throws IllegalArgumentException naming the component and tensor when the chain does not fit together
     */
    static ComponentRouting of(List<ComponentIo> components) {
        if (components.isEmpty()) {
            throw new IllegalArgumentException("a denoiser needs at least one component");
        }
        Set<String> firstInputs = names(components.get(0).inputs());
        String latent = LATENT_NAMES.stream().filter(firstInputs::contains).findFirst().orElseThrow(() ->
                new IllegalArgumentException("component 0 has no latent input; expected one of " + LATENT_NAMES
                        + ", found " + firstInputs));
        Set<String> consumed = new HashSet<>();
        components.forEach(c -> consumed.addAll(names(c.inputs())));
        // each component that reads the timestep gets its slot's; the first may not (a video UNet starts by
        // folding frames into the batch, which needs no time embedding)
        if (!consumed.contains(TIMESTEP)) {
            throw new IllegalArgumentException("no component has a '" + TIMESTEP + "' input; component 0 reads "
                    + firstInputs);
        }
        ComponentIo last = components.get(components.size() - 1);
        String prediction = last.outputs().stream().map(TensorSpec::name).filter(n -> !consumed.contains(n))
                .findFirst().orElseThrow(() -> new IllegalArgumentException("the last component's outputs "
                        + names(last.outputs()) + " are all read by other components; none is the prediction"));
        ComponentRouting routing = new ComponentRouting(components, latent, prediction);
        for (int i = 0; i < components.size(); i++) {
            for (TensorSpec input : components.get(i).inputs()) {
                Integer from = routing.producer.get(input.name());
                if (from == null && routing.producedLater(input.name(), i)) {
                    throw new IllegalArgumentException("component " + i + " reads '" + input.name()
                            + "', which a later component produces: the components are out of order");
                }
            }
            for (TensorSpec output : components.get(i).outputs()) {
                routing.producer.putIfAbsent(output.name(), i);
            }
        }
        return routing;
    }

    private boolean producedLater(String name, int component) {
        for (int j = component; j < components.size(); j++) {
            if (names(components.get(j).outputs()).contains(name)) {
                return true;
            }
        }
        return false;
    }

    private static Set<String> names(List<TensorSpec> specs) {
        Set<String> names = new HashSet<>();
        specs.forEach(s -> names.add(s.name()));
        return names;
    }

    int size() {
        return components.size();
    }

    String prediction() {
        return prediction;
    }

    /** The name of the latent input ({@code sample} or {@code hidden_states}). */
    String latentInput() {
        return latentInput;
    }

    /** Where input {@code name} of component {@code index} comes from. */
    Source source(int index, String name) {
        if (name.equals(latentInput)) {
            return components.get(index).shapeOnlyInputs().contains(name) ? Source.LATENT_SHAPE : Source.LATENT;
        }
        if (name.equals(TIMESTEP)) {
            return Source.TIMESTEP;
        }
        Integer from = producer.get(name);
        return from != null && from < index ? Source.CROSSING : Source.OTHER;
    }

    /** The component that produces {@code name} (a tensor crossing a cut). */
    int producerOf(String name) {
        Integer from = producer.get(name);
        if (from == null) {
            throw new IllegalArgumentException("no component produces '" + name + "'");
        }
        return from;
    }

    /** The input names of component {@code index}, in declared order. */
    List<String> inputNames(int index) {
        return components.get(index).inputs().stream().map(TensorSpec::name).toList();
    }

    /** The components after {@code index} that read its output {@code name}, in order. */
    List<Integer> consumers(int index, String name) {
        List<Integer> readers = new ArrayList<>();
        for (int j = index + 1; j < components.size(); j++) {
            if (names(components.get(j).inputs()).contains(name) && producer.get(name) == index) {
                readers.add(j);
            }
        }
        return readers;
    }

    /** The output names of component {@code index}, in declared order. */
    List<String> outputNames(int index) {
        return components.get(index).outputs().stream().map(TensorSpec::name).toList();
    }

    /** Where a component input comes from. */
    enum Source {
        /** the latent input, built each step by the adapter's hook (or the scaled latents) */
        LATENT,
        /** the latent input of a component that reads only its shape, which stays the same all generation */
        LATENT_SHAPE,
        /** the round's timestep */
        TIMESTEP,
        /** an output of an earlier component */
        CROSSING,
        /** a per-step input of the adapter's hook when it has one of that name, else the conditioning */
        OTHER
    }
}
