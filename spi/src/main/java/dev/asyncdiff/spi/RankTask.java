package dev.asyncdiff.spi;

import dev.asyncdiff.api.TensorSpec;
import java.nio.file.Path;
import java.util.List;

/**
 * What rank 0's loop asks a rank to do, as data, so that a rank in another process can do it: load a
 * component, run it at one step with its inputs received and its outputs sent through the
 * {@link Communicator}, contribute to an all-gather, end a generation, unload. A rank runs its tasks one
 * at a time, in the order they were submitted.
 */
public sealed interface RankTask {

    /**
     * Loads {@code file} as the component named {@code component} on the rank's device.
     *
     * @param modelHash the SHA-256 of the whole denoiser the component was cut from, so that a rank started
     *                  for one model refuses components of another; null when not known
     */
    record Load(String component, Path file, String modelHash) implements RankTask {
        public Load {
            requireName(component);
            if (file == null) {
                throw new IllegalArgumentException("a load task needs a file");
            }
        }
    }

    /** Closes the component {@code component} and what it holds. */
    record Unload(String component) implements RankTask {
        public Unload {
            requireName(component);
        }
    }

    /**
     * Runs {@code component} once: its inputs from {@code feeds}, its outputs to {@code deliveries}.
     * Outputs of the last two runs of a component stay alive (the schedule's double buffering).
     */
    record Run(String component, int step, double timestep, List<Feed> feeds, List<Delivery> deliveries)
            implements RankTask {
        public Run {
            requireName(component);
            feeds = List.copyOf(feeds);
            deliveries = List.copyOf(deliveries);
        }
    }

    /**
     * Contributes the prediction held under {@code held} (a {@link Delivery} with a negative rank) to the
     * all-gather {@code tag} over {@code group}.
     */
    record Gather(List<Integer> group, String tag, String held) implements RankTask {
        public Gather {
            group = List.copyOf(group);
        }
    }

    /** Closes what the rank kept for the generation: outputs, held predictions, conditioning. */
    record EndGeneration() implements RankTask {
    }

    /** Where one input of a run comes from. */
    enum Source {
        /** The run's timestep, as a scalar. */
        TIMESTEP,
        /** A tensor received under {@code tag} from rank {@code from} for this run. */
        RECEIVE,
        /** Conditioning broadcast once per generation by rank {@code from} under {@code tag}, kept. */
        CONDITIONING
    }

    /** One input of a run: its name, where it comes from, and (but for the timestep) the sender and tag. */
    record Feed(String name, Source source, int from, String tag) {
        public Feed {
            requireName(name);
            if (source == null) {
                throw new IllegalArgumentException("feed '" + name + "' needs a source");
            }
        }
    }

    /** Where one output of a run goes: rank {@code to} under {@code tag}; a negative rank holds it here. */
    record Delivery(String name, int to, String tag) {
        public Delivery {
            requireName(name);
        }

        public boolean held() {
            return to < 0;
        }
    }

    /** What a rank gives back for a task: the inputs and outputs of the component a {@link Load} loaded; none otherwise. */
    record Done(List<TensorSpec> inputs, List<TensorSpec> outputs) {
        public static final Done NOTHING = new Done(List.of(), List.of());

        public Done {
            inputs = List.copyOf(inputs);
            outputs = List.copyOf(outputs);
        }
    }

    private static void requireName(String name) {
        if (name == null || name.isEmpty()) {
            throw new IllegalArgumentException("a rank task needs a name");
        }
    }
}
