"""``zoo.build`` refuses arguments a model's builder does not take, naming the model and what it accepts."""
import pytest

import zoo


def test_a_classifier_argument_to_the_language_model_is_a_value_error():
    with pytest.raises(ValueError, match=r"model 'lm' .*does not take num_classes; it accepts: vocab_size"):
        zoo.build("lm", num_classes=3)


@pytest.mark.parametrize("name", zoo.models.model_names())
def test_every_registry_model_lists_the_arguments_it_accepts(name):
    with pytest.raises(ValueError) as info:
        zoo.build(name, no_such_argument=1)
    message = str(info.value)
    assert f"model {name!r}" in message and "does not take no_such_argument" in message
    accepted = message.split("it accepts: ", 1)[1].split(", ")
    # Every argument the registry builds the model with is among those listed.
    assert set(zoo.models.config_of(name)) <= set(accepted), (name, accepted)


def test_the_model_given_as_name_keyword_says_it_is_the_keras_name():
    with pytest.raises(TypeError, match=r"first argument, e\.g\. build\('transformer-tiny'\); got none "
                                        r"\(name='transformer-tiny' is the Keras model's name\)"):
        zoo.build(name="transformer-tiny")
