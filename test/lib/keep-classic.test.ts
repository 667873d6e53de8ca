import { keepSuite } from './keep-suite.js'
import { classic } from '../helpers/stores.js'

keepSuite(classic)
