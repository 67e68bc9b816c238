package dev.asyncdiff.spi;

import dev.asyncdiff.api.Device;
import dev.asyncdiff.api.InferenceSession;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * The selected backend and the backends a {@link BackendPlacement} names, as one: each model file is
 * loaded by the backend placed on its part, every other by the selected one ({@code placed} maps every
 * placed backend's name to its instance, the selected one included when a part names it). Its name, and the timing
 * profile calibration stores unit times under, are the denoiser's backend's. Closing it closes them all.
 */
final class PlacedBackend implements Backend {
    private final Backend selected;
    private final Map<String, Backend> placed;
    private final BackendPlacement placement;

    PlacedBackend(Backend selected, Map<String, Backend> placed, BackendPlacement placement) {
        this.selected = selected;
        this.placed = Map.copyOf(placed);
        this.placement = placement;
    }

    @Override
    public String name() {
        return selected.name();
    }

    @Override
    public String timingProfile(Device device) {
        return placement.byPart().containsKey("denoiser") ? placed.get(placement.byPart().get("denoiser"))
                .timingProfile(device) : selected.timingProfile(device);
    }

    @Override
    public InferenceSession load(Path modelFile, Device device) {
        Backend backend = placement.backendFor(modelFile).map(placed::get).orElse(selected);
        return backend.load(modelFile, device);
    }

    @Override
    public void close() {
        List<RuntimeException> failures = new ArrayList<>();
        for (Backend backend : placed.values()) {
            if (backend != selected) {
                closeInto(backend, failures);
            }
        }
        closeInto(selected, failures);
        if (!failures.isEmpty()) {
            RuntimeException first = failures.get(0);
            failures.subList(1, failures.size()).forEach(first::addSuppressed);
            throw first;
        }
    }

    private static void closeInto(Backend backend, List<RuntimeException> failures) {
        try {
            backend.close();
        } catch (RuntimeException e) {
            failures.add(e);
        }
    }

    @Override
    public String toString() {
        return "PlacedBackend[" + selected.name() + ", " + placement.byPart() + "]";
    }
}
